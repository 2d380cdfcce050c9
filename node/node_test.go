package node_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/testca"
)

func TestInitHome(t *testing.T) {
	t.Parallel()
	e := nodetest.New(t, "init-test")

	// The layout is CometBFT's, plus the member key (0600).
	for _, f := range []string{node.ConfigFile, node.GenesisFile, node.MemberKeyFile, "config/node_key.json", "config/priv_validator_key.json", "data/priv_validator_state.json"} {
		if _, err := os.Stat(filepath.Join(e.Home, f)); err != nil {
			t.Errorf("home lacks %s: %v", f, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(e.Home, node.MemberKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("member key mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	// The genesis: one validator, the operator with every role and this
	// node's ID, the test CA as an auth anchor.
	doc, err := cmttypes.GenesisDocFromFile(filepath.Join(e.Home, node.GenesisFile))
	if err != nil {
		t.Fatal(err)
	}
	st, err := genesis.FromDoc(doc)
	if err != nil {
		t.Fatal(err)
	}
	if doc.ChainID != "init-test" || len(doc.Validators) != 1 {
		t.Errorf("chain %q with %d validators", doc.ChainID, len(doc.Validators))
	}
	if len(st.Members) != 1 {
		t.Fatalf("members = %+v", st.Members)
	}
	m := st.Members[0]
	if m.ID != node.DefaultMemberID || strings.Join(m.Roles, ",") != strings.Join(chain.AllRoles, ",") ||
		len(m.NodeIDs) != 1 || m.NodeIDs[0] != e.Init.NodeID || !bytes.Equal(m.PubKey, e.MemberKey.Public().(ed25519.PublicKey)) {
		t.Errorf("member = %+v, init = %+v", m, e.Init)
	}
	if len(st.Anchors) != 1 || st.Anchors[0].Kind != "auth" || !bytes.Equal(st.Anchors[0].Certificate, e.CA.CertDER) {
		t.Errorf("anchors = %+v", st.Anchors)
	}

	// The config reads back with loopback addresses, peer filtering and the
	// kv indexer.
	c, err := node.LoadConfig(e.Home)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.RPC.ListenAddress, "tcp://127.0.0.1:") || !strings.HasPrefix(c.P2P.ListenAddress, "tcp://127.0.0.1:") ||
		!c.FilterPeers || c.TxIndex.Indexer != "kv" || c.Consensus.TimeoutCommit != 250*time.Millisecond || c.Mempool.MaxTxBytes != chain.MaxTxSize {
		t.Errorf("config: rpc %s p2p %s filter %v indexer %s commit %s mempool max_tx_bytes %d", c.RPC.ListenAddress, c.P2P.ListenAddress, c.FilterPeers, c.TxIndex.Indexer, c.Consensus.TimeoutCommit, c.Mempool.MaxTxBytes)
	}

	// A second init into the same home is refused and changes nothing.
	before, _ := os.ReadFile(filepath.Join(e.Home, node.GenesisFile))
	_, err = node.Init(node.InitOptions{Home: e.Home, ChainID: "other", AnchorFiles: []string{filepath.Join(e.CADir, testca.CertFile)}})
	if err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("second init: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(e.Home, node.GenesisFile))
	if !bytes.Equal(before, after) {
		t.Error("second init changed the genesis")
	}
}

func TestInitRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, err := testca.Init(filepath.Join(dir, "ca"), testca.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	anchor := filepath.Join(ca.Dir, testca.CertFile)
	holder, err := ca.Issue(testca.IssueOptions{Name: "h"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts node.InitOptions
		want string
	}{
		{"no chain", node.InitOptions{AnchorFiles: []string{anchor}}, "no chain ID"},
		{"no anchor", node.InitOptions{ChainID: "c"}, "no trust anchor"},
		{"bad member", node.InitOptions{ChainID: "c", MemberID: "Bad_ID", AnchorFiles: []string{anchor}}, "member ID"},
		{"holder as anchor", node.InitOptions{ChainID: "c", AnchorFiles: []string{holder.CertPath}}, "not a CA"},
		{"missing anchor", node.InitOptions{ChainID: "c", AnchorFiles: []string{filepath.Join(dir, "nope.pem")}}, "no such file"},
		{"long chain ID", node.InitOptions{ChainID: strings.Repeat("c", 51), AnchorFiles: []string{anchor}}, "chain_id"},
		{"bad rpc addr", node.InitOptions{ChainID: "c", AnchorFiles: []string{anchor}, Config: node.ConfigOptions{RPCAddr: ":1"}}, "rpc address"},
	} {
		home := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
		tc.opts.Home = home
		_, err := node.Init(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if _, serr := os.Stat(home); serr == nil {
			t.Errorf("%s: a refused init left %s behind", tc.name, home)
		}
	}
}

// TestStartStopRestart runs a node, stops it, and starts it again: the
// restarted node reports the same app hash for the same height and goes on
// making blocks.
func TestStartStopRestart(t *testing.T) {
	t.Parallel()
	e := nodetest.New(t, "restart-test")
	e.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nodetest.WaitHeight(ctx, t, e.URL, 3)

	c, err := client.New(e.URL)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := c.ChainID(ctx); err != nil || id != "restart-test" {
		t.Fatalf("chain ID = %q, %v", id, err)
	}
	members, err := c.Members(ctx)
	if err != nil || len(members) != 1 || members[0].Id != node.DefaultMemberID {
		t.Fatalf("members = %v, %v", members, err)
	}
	rpc, _ := rpchttp.New(e.URL, "/websocket")
	h := int64(3)
	before, err := rpc.Block(ctx, &h)
	if err != nil {
		t.Fatal(err)
	}
	e.Stop(t)

	e.Start(t)
	rpc, _ = rpchttp.New(e.URL, "/websocket")
	after, err := rpc.Block(ctx, &h)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before.Block.AppHash, after.Block.AppHash) || !bytes.Equal(before.BlockID.Hash, after.BlockID.Hash) {
		t.Errorf("block 3 changed across a restart: app hash %X -> %X, block %X -> %X",
			before.Block.AppHash, after.Block.AppHash, before.BlockID.Hash, after.BlockID.Hash)
	}
	st, _ := rpc.Status(ctx)
	nodetest.WaitHeight(ctx, t, e.URL, st.SyncInfo.LatestBlockHeight+2)
}
