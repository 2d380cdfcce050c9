package node_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	cmtp2p "github.com/cometbft/cometbft/p2p"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
)

// The peering tests' shared cast: a validator started by nodetest, made to
// listen on the transport under test, and joiners dialing it.

// Transports the peering tests run on.
const (
	transportDefault = "default"
	transportLibP2P  = "libp2p"
)

// joiner is a home that shares a network's genesis but whose node is not
// registered to any member: new keys, its own ports, one persistent peer.
type joiner struct {
	home, url, id, log string
	transport          string
}

// validatorPeer readies validator v (not yet started) for transport and
// returns the address joiners dial: NODE-ID@host:port, or on libp2p, after
// rewriting v's configuration to that transport, LIBP2P-ID@host:port.
func validatorPeer(t *testing.T, v *nodetest.Env, transport string) string {
	t.Helper()
	cfg, err := node.LoadConfig(v.Home)
	if err != nil {
		t.Fatal(err)
	}
	p2pAddr := cfg.P2P.ListenAddress[len("tcp://"):]
	if transport != transportLibP2P {
		return v.Init.NodeID + "@" + p2pAddr
	}
	rpcAddr := cfg.RPC.ListenAddress[len("tcp://"):]
	lc := node.NewConfig(v.Home, node.ConfigOptions{Moniker: cfg.Moniker, RPCAddr: rpcAddr, P2PAddr: p2pAddr, LibP2P: true, Fast: true})
	if err := node.WriteConfig(lc); err != nil {
		t.Fatal(err)
	}
	key, err := cmtp2p.LoadNodeKey(lc.NodeKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	vid, err := node.LibP2PID(key)
	if err != nil {
		t.Fatal(err)
	}
	return vid + "@" + p2pAddr
}

// newJoiner makes a joiner home in dir on transport, with the genesis file
// genesisFile, dialing peer (from validatorPeer).
func newJoiner(t *testing.T, transport, dir, name, genesisFile, peer string) *joiner {
	t.Helper()
	home := filepath.Join(dir, name)
	rpc := nodetest.FreeAddr(t)
	o := node.ConfigOptions{Moniker: name, RPCAddr: rpc, P2PAddr: nodetest.FreeAddr(t), Fast: true}
	if transport == transportLibP2P {
		o.LibP2P, o.LibP2PPeers = true, []string{peer}
	} else {
		o.PersistentPeers = []string{peer}
	}
	c := node.NewConfig(home, o)
	if err := node.WriteConfig(c); err != nil {
		t.Fatal(err)
	}
	keys, err := node.GenerateKeys(c)
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.ReadFile(genesisFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.GenesisFile(), g, 0o600); err != nil {
		t.Fatal(err)
	}
	return &joiner{home: home, url: "http://" + rpc, id: keys.NodeID(), log: filepath.Join(dir, name+".log"), transport: transport}
}

// start runs the joiner's node until the test ends.
func (j *joiner) start(t *testing.T) {
	t.Helper()
	f, err := os.Create(j.log)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(j.home, node.StartOptions{LogWriter: f})
	if err != nil {
		f.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Stop(); err != nil {
			t.Errorf("stopping %s: %v", j.home, err)
		}
		f.Close()
	})
}

// peerName is how the validator's net_info names j: its node ID, or on
// libp2p its libp2p peer ID.
func (j *joiner) peerName(t *testing.T) string {
	t.Helper()
	if j.transport != transportLibP2P {
		return j.id
	}
	key, err := cmtp2p.LoadNodeKey(filepath.Join(j.home, "config", "node_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := node.LibP2PID(key)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// peers returns the peer names the node at url is connected to.
func peers(ctx context.Context, t *testing.T, url string) []string {
	t.Helper()
	c, err := rpchttp.New(url, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	ni, err := c.NetInfo(ctx)
	if err != nil {
		t.Fatalf("net_info from %s: %v", url, err)
	}
	var ids []string
	for _, p := range ni.Peers {
		ids = append(ids, string(p.NodeInfo.ID()))
	}
	return ids
}

func height(ctx context.Context, t *testing.T, url string) int64 {
	t.Helper()
	c, err := rpchttp.New(url, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("status from %s: %v", url, err)
	}
	return st.SyncInfo.LatestBlockHeight
}

// waitPeers polls the node at url until cond holds for its peer list.
func waitPeers(ctx context.Context, t *testing.T, url, what string, cond func([]string) bool) {
	t.Helper()
	for {
		if cond(peers(ctx, t, url)) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting until %s (peers of %s: %v)", what, url, peers(context.Background(), t, url))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// staysOut keeps watching the node at url for a few seconds, while j keeps
// redialing it, and fails if j shows up among its peers or, with noBlocks,
// if j gets a block. (j may list the validator for the moment between its
// own handshake and the validator's refusal, but it never gets a block.)
func staysOut(ctx context.Context, t *testing.T, url string, j *joiner, what string, noBlocks bool) {
	t.Helper()
	name := j.peerName(t)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if ps := peers(ctx, t, url); slices.Contains(ps, name) {
			t.Fatalf("the validator peers with %s (%s): %v", what, j.id, ps)
		}
		if noBlocks {
			if h := height(ctx, t, j.url); h != 0 {
				t.Fatalf("%s synced to height %d over %s", what, h, j.transport)
			}
		}
	}
}
