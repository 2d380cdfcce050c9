package node_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
)

// joiner is a home that shares a network's genesis but whose node is not
// registered to any member: new keys, its own ports, persistent peers.
type joiner struct {
	home, url, id, log string
}

func newJoiner(t *testing.T, dir, name, genesisFile string, peers ...string) *joiner {
	t.Helper()
	home := filepath.Join(dir, name)
	rpc := nodetest.FreeAddr(t)
	c := node.NewConfig(home, node.ConfigOptions{
		Moniker: name, RPCAddr: rpc, P2PAddr: nodetest.FreeAddr(t), PersistentPeers: peers, Fast: true,
	})
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
	return &joiner{home: home, url: "http://" + rpc, id: keys.NodeID(), log: filepath.Join(dir, name+".log")}
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

// peers returns the node IDs the node at url is connected to.
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

// TestPermissionedPeering starts a validator, a node that is registered to
// no member, and a node the validator's home lists as an observer, both
// dialing the validator as a persistent peer. The validator's app refuses
// the unregistered node (CometBFT's filter_peers asks it through
// /p2p/filter/id/ID): the two never connect and the stranger stays at
// height 0, while the observer connects and syncs blocks.
func TestPermissionedPeering(t *testing.T) {
	t.Parallel()
	v := nodetest.New(t, "permission-test")
	genesisFile := filepath.Join(v.Home, node.GenesisFile)
	cfg, err := node.LoadConfig(v.Home)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.FilterPeers {
		t.Fatal("filter_peers is off in a new home")
	}
	p2p := cfg.P2P.ListenAddress[len("tcp://"):]
	peer := v.Init.NodeID + "@" + p2p

	stranger := newJoiner(t, v.Dir, "stranger", genesisFile, peer)
	observer := newJoiner(t, v.Dir, "observer", genesisFile, peer)
	if err := node.WriteObservers(v.Home, []string{observer.id}); err != nil {
		t.Fatal(err)
	}
	if got, err := node.LoadObservers(v.Home); err != nil || !slices.Equal(got, []string{observer.id}) {
		t.Fatalf("LoadObservers = %v, %v", got, err)
	}
	v.Start(t)
	stranger.start(t)
	observer.start(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The observer connects and catches up: dialing works, and the
	// stranger had the same chances.
	target := height(ctx, t, v.URL) + 2
	nodetest.WaitHeight(ctx, t, observer.url, target)
	if ps := peers(ctx, t, v.URL); !slices.Contains(ps, observer.id) {
		t.Errorf("validator's peers %v lack the observer %s", ps, observer.id)
	}
	// Keep watching for a while: the stranger redials its persistent peer.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if ps := peers(ctx, t, v.URL); slices.Contains(ps, stranger.id) {
			t.Fatalf("the validator peers with the unregistered node %s: %v", stranger.id, ps)
		}
		// The stranger may list the validator for the moment between its
		// own handshake and the validator's refusal, but it never gets a
		// block.
		if h := height(ctx, t, stranger.url); h != 0 {
			t.Fatalf("the unregistered node synced to height %d", h)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if h := height(ctx, t, stranger.url); h != 0 {
		t.Errorf("the unregistered node reached height %d", h)
	}
	// The decisions are the validator app's answers to the filter query.
	c, err := rpchttp.New(v.URL, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   string
		want uint32
	}{{stranger.id, 4}, {observer.id, 0}, {v.Init.NodeID, 0}} {
		r, err := c.ABCIQuery(ctx, "/p2p/filter/id/"+tc.id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Response.Code != tc.want {
			t.Errorf("/p2p/filter/id/%s: code %d (%s), want %d", tc.id, r.Response.Code, r.Response.Log, tc.want)
		}
	}
}
