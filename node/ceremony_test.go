package node_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cmtjson "github.com/cometbft/cometbft/libs/json"

	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/testca"
)

// ceremony makes two keys-only homes and their genesis; it returns the
// homes and the genesis bytes.
func ceremony(t *testing.T) (dir string, homes []string, raw []byte) {
	t.Helper()
	dir = t.TempDir()
	if _, err := testca.Init(filepath.Join(dir, "ca"), testca.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	var reqs []*genesis.JoinRequest
	for i, id := range []string{"bank-a", "bank-b"} {
		home := filepath.Join(dir, id)
		res, err := node.Init(node.InitOptions{Home: home, KeysOnly: true, ChainID: "c1", MemberID: id,
			Config: node.ConfigOptions{P2PAddr: "127.0.0.1:" + []string{"36656", "37656"}[i]}})
		if err != nil {
			t.Fatal(err)
		}
		if res.GenesisFile != "" {
			t.Errorf("keys-only init reports a genesis %q", res.GenesisFile)
		}
		if _, err := os.Stat(filepath.Join(home, node.GenesisFile)); err == nil {
			t.Error("keys-only init wrote a genesis")
		}
		r, err := node.MakeJoinRequest(home, node.JoinRequestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Body.NodeID != res.NodeID || r.Body.P2PAddress != "127.0.0.1:"+[]string{"36656", "37656"}[i] || r.Body.ChainID != "c1" || len(r.Body.Roles) != 4 {
			t.Errorf("join request %+v", r.Body)
		}
		reqs = append(reqs, r)
		homes = append(homes, home)
	}
	anchors, err := node.ReadAnchorFiles([]string{filepath.Join(dir, "ca", testca.CertFile)})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := genesis.AssembleDoc(genesis.AssembleOptions{ChainID: "c1", Anchors: anchors}, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if raw, err = cmtjson.MarshalIndent(doc, "", "  "); err != nil {
		t.Fatal(err)
	}
	return dir, homes, raw
}

// TestKeysOnlyAndInstall: keys-only homes, a refused second init, and an
// install that peers with the other member, keeps the file byte for byte,
// takes --peers, and refuses a different genesis or another chain's.
func TestKeysOnlyAndInstall(t *testing.T) {
	dir, homes, raw := ceremony(t)
	if _, err := node.Init(node.InitOptions{Home: homes[0], KeysOnly: true, ChainID: "c1", MemberID: "bank-a"}); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("second keys-only init: %v", err)
	}
	res, err := node.InstallGenesis(homes[0], raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := node.MakeJoinRequest(homes[1], node.JoinRequestOptions{})
	if res.Member != "bank-a" || len(res.Peers) != 1 || res.Peers[0] != other.Body.NodeID+"@127.0.0.1:37656" {
		t.Errorf("install = %+v", res)
	}
	if got, _ := os.ReadFile(filepath.Join(homes[0], node.GenesisFile)); !bytes.Equal(got, raw) {
		t.Error("the installed genesis differs from the file given")
	}
	c, err := node.LoadConfig(homes[0])
	if err != nil || c.P2P.PersistentPeers != res.Peers[0] {
		t.Errorf("persistent_peers = %q (%v)", c.P2P.PersistentPeers, err)
	}
	if _, err := node.InstallGenesis(homes[0], raw, nil); err != nil {
		t.Errorf("installing the same genesis again: %v", err)
	}
	if _, err := node.InstallGenesis(homes[0], append(bytes.Clone(raw), ' '), nil); err == nil || !strings.Contains(err.Error(), "different genesis") {
		t.Errorf("a different genesis: %v", err)
	}
	peer := strings.Repeat("ab", 20) + "@127.0.0.1:40000"
	if res, err := node.InstallGenesis(homes[1], raw, []string{peer}); err != nil || len(res.Peers) != 1 || res.Peers[0] != peer {
		t.Errorf("install with --peers: %+v %v", res, err)
	}
	wrong := filepath.Join(dir, "wrong")
	if _, err := node.Init(node.InitOptions{Home: wrong, KeysOnly: true, ChainID: "c2", MemberID: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.InstallGenesis(wrong, raw, nil); err == nil || !strings.Contains(err.Error(), `made for chain "c2"`) {
		t.Errorf("another chain's genesis: %v", err)
	}
}

// TestJoinConfiguresStateSync: join writes CometBFT's state sync settings
// from the checkpoint; a checkpoint that fails (the RPC servers disagree)
// leaves the home untouched.
func TestJoinConfiguresStateSync(t *testing.T) {
	_, homes, raw := ceremony(t)
	rpcs := []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}
	disagree := errors.New("client: the RPC servers disagree")
	_, err := node.Join(context.Background(), homes[1], node.JoinOptions{Genesis: raw, RPCServers: rpcs,
		Checkpoint: func(context.Context, []string) (int64, []byte, error) { return 0, nil, disagree }})
	if !errors.Is(err, disagree) {
		t.Fatalf("join with disagreeing servers: %v", err)
	}
	if _, err := os.Stat(filepath.Join(homes[1], node.GenesisFile)); err == nil {
		t.Error("a refused join installed the genesis")
	}
	if _, err := node.Join(context.Background(), homes[1], node.JoinOptions{Genesis: raw, RPCServers: rpcs[:1]}); err == nil {
		t.Error("join with one RPC server succeeded")
	}
	hash := bytes.Repeat([]byte{0xab}, 32)
	res, err := node.Join(context.Background(), homes[1], node.JoinOptions{Genesis: raw, RPCServers: rpcs,
		Checkpoint: func(context.Context, []string) (int64, []byte, error) { return 42, hash, nil }})
	if err != nil {
		t.Fatal(err)
	}
	c, err := node.LoadConfig(homes[1])
	if err != nil {
		t.Fatal(err)
	}
	ss := c.StateSync
	if !ss.Enable || ss.TrustHeight != 42 || ss.TrustHash != strings.Repeat("ab", 32) || strings.Join(ss.RPCServers, ",") != strings.Join(rpcs, ",") ||
		ss.TrustPeriod <= 0 || c.P2P.PersistentPeers == "" || res.TrustHeight != 42 {
		t.Errorf("state sync config %+v, peers %q", ss, c.P2P.PersistentPeers)
	}
}
