package node_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	cmtp2p "github.com/cometbft/cometbft/p2p"

	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
)

// newLibP2PJoiner is a joiner on the libp2p transport, dialing peers given
// as LIBP2P-ID@host:port.
func newLibP2PJoiner(t *testing.T, dir, name, genesisFile string, peers ...string) *joiner {
	t.Helper()
	home := filepath.Join(dir, name)
	rpc := nodetest.FreeAddr(t)
	c := node.NewConfig(home, node.ConfigOptions{
		Moniker: name, RPCAddr: rpc, P2PAddr: nodetest.FreeAddr(t), LibP2P: true, LibP2PPeers: peers, Fast: true,
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

// TestLibP2PPermissionedPeering: on CometBFT's libp2p transport, which does
// not run CometBFT's peer filters, idledger's gate closes a connection from
// a node registered to no member before any stream, while an observer the
// validator lists connects and syncs.
func TestLibP2PPermissionedPeering(t *testing.T) {
	t.Parallel()
	v := nodetest.New(t, "libp2p-permission-test")
	cfg, err := node.LoadConfig(v.Home)
	if err != nil {
		t.Fatal(err)
	}
	// The validator on libp2p, with no peers of its own.
	p2pAddr := cfg.P2P.ListenAddress[len("tcp://"):]
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
	genesisFile := filepath.Join(v.Home, node.GenesisFile)
	dir := nodetest.TempDir(t)
	peer := vid + "@" + p2pAddr
	stranger := newLibP2PJoiner(t, dir, "stranger", genesisFile, peer)
	observer := newLibP2PJoiner(t, dir, "observer", genesisFile, peer)
	if err := node.WriteObservers(v.Home, []string{observer.id}); err != nil {
		t.Fatal(err)
	}
	v.Start(t)
	stranger.start(t)
	observer.start(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	target := height(ctx, t, v.URL) + 2
	nodetest.WaitHeight(ctx, t, observer.url, target)
	// net_info names libp2p peers by their libp2p IDs.
	sp := peerName(t, stranger, "libp2p")
	if ps := peers(ctx, t, v.URL); !slices.Contains(ps, peerName(t, observer, "libp2p")) {
		t.Errorf("validator's peers %v lack the observer", ps)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if ps := peers(ctx, t, v.URL); slices.Contains(ps, sp) {
			t.Fatalf("the validator peers with the unregistered node %s: %v", stranger.id, ps)
		}
		if h := height(ctx, t, stranger.url); h != 0 {
			t.Fatalf("the unregistered node synced to height %d over libp2p", h)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
