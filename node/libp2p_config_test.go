package node_test

import (
	"strings"
	"testing"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/p2p"

	"github.com/idledger/idledger/node"
)

func TestLibP2PConfigOptions(t *testing.T) {
	k := &p2p.NodeKey{PrivKey: ed25519.GenPrivKey()}
	id, err := node.LibP2PID(k)
	if err != nil || !strings.HasPrefix(id, "12D3KooW") {
		t.Fatalf("LibP2PID: %q, %v", id, err)
	}
	if again, _ := node.LibP2PID(k); again != id {
		t.Fatalf("LibP2PID not stable: %s, %s", id, again)
	}
	peer := id + "@127.0.0.1:26666"
	o := node.ConfigOptions{P2PAddr: "127.0.0.1:26656", LibP2P: true, LibP2PPeers: []string{peer}}
	if err := node.ValidateConfigOptions(o); err != nil {
		t.Fatal(err)
	}
	c := node.NewConfig(t.TempDir(), o)
	lc := c.P2P.LibP2PConfig
	if !lc.Enabled || c.P2P.PexReactor || len(lc.BootstrapPeers) != 1 || lc.BootstrapPeers[0].ID != id ||
		lc.BootstrapPeers[0].Host != "127.0.0.1:26666" || !lc.BootstrapPeers[0].Persistent {
		t.Fatalf("libp2p config %+v, pex %v", lc, c.P2P.PexReactor)
	}
	if err := c.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	if c := node.NewConfig(t.TempDir(), node.ConfigOptions{}); c.P2P.LibP2PConfig.Enabled {
		t.Fatal("libp2p on by default")
	}
	for _, bad := range []node.ConfigOptions{
		{LibP2P: true, PersistentPeers: []string{strings.Repeat("a", 40) + "@127.0.0.1:1"}},
		{LibP2PPeers: []string{peer}},
		{LibP2P: true, LibP2PPeers: []string{"127.0.0.1:26666"}},
		{LibP2P: true, LibP2PPeers: []string{"notanid@127.0.0.1:26666"}},
		{LibP2P: true, LibP2PPeers: []string{id + "@:26666"}},
	} {
		if err := node.ValidateConfigOptions(bad); err == nil {
			t.Errorf("ValidateConfigOptions(%+v) accepted", bad)
		}
	}
}
