package testnet_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/testnet"
)

// TestInitGoesThroughTheCeremony: testnet init makes its genesis the way
// organisations do (join requests, assemble, install): every home has the
// same genesis, which records each node's ID and p2p address, and each
// node's persistent peers are the others.
func TestInitGoesThroughTheCeremony(t *testing.T) {
	dir := t.TempDir()
	m, err := testnet.Init(testnet.InitOptions{Dir: dir, Validators: 3, Holders: 1})
	if err != nil {
		t.Fatal(err)
	}
	var hash string
	for i, n := range m.Nodes {
		home := filepath.Join(dir, n.Home)
		raw, err := os.ReadFile(filepath.Join(home, node.GenesisFile))
		if err != nil {
			t.Fatal(err)
		}
		sum, err := genesis.Summarize(raw)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			hash = sum.Hash
		} else if sum.Hash != hash {
			t.Errorf("node %d has another genesis", i)
		}
		var rec *genesis.SummaryMember
		for _, mem := range sum.Members {
			if mem.ID == n.Member {
				rec = &mem
			}
		}
		if rec == nil || rec.P2PAddress != n.P2P || !slices.Contains(rec.NodeIDs, n.NodeID) || len(sum.Validators) != 3 || sum.Validators[i].Name != n.Name {
			t.Errorf("node %d in the genesis: %+v (validators %+v)", i, rec, sum.Validators)
		}
		c, err := node.LoadConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		peers := strings.Split(c.P2P.PersistentPeers, ",")
		var want []string
		for j, p := range m.Nodes {
			if j != i {
				want = append(want, p.NodeID+"@"+p.P2P)
			}
		}
		slices.Sort(peers)
		slices.Sort(want)
		if !slices.Equal(peers, want) {
			t.Errorf("node %d peers %v, want %v", i, peers, want)
		}
		if c.Mempool.Size != 50000 {
			t.Errorf("node %d lost the testnet mempool size through install: %d", i, c.Mempool.Size)
		}
	}
}
