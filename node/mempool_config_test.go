package node_test

import (
	"testing"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/node"
)

// TestMempoolMaxTxBytes: a node's mempool refuses a transaction over the
// chain's 16 KiB cap before CheckTx, in a new home and in one written with
// CometBFT's 1 MB default.
func TestMempoolMaxTxBytes(t *testing.T) {
	home := t.TempDir()
	c := node.NewConfig(home, node.ConfigOptions{})
	if c.Mempool.MaxTxBytes != chain.MaxTxSize {
		t.Fatalf("new config: mempool max_tx_bytes %d, want %d", c.Mempool.MaxTxBytes, chain.MaxTxSize)
	}
	c.Mempool.MaxTxBytes = 1 << 20 // an older home
	if err := node.WriteConfig(c); err != nil {
		t.Fatal(err)
	}
	back, err := node.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if back.Mempool.MaxTxBytes != chain.MaxTxSize {
		t.Fatalf("loaded config: mempool max_tx_bytes %d, want %d", back.Mempool.MaxTxBytes, chain.MaxTxSize)
	}
	c.Mempool.MaxTxBytes = 4096 // an operator's lower choice stays
	if err := node.WriteConfig(c); err != nil {
		t.Fatal(err)
	}
	if back, err := node.LoadConfig(home); err != nil || back.Mempool.MaxTxBytes != 4096 {
		t.Fatalf("loaded config with 4096: %v, %v", back, err)
	}
}
