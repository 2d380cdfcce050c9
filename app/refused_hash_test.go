package app_test

import (
	"bytes"
	"testing"

	"github.com/idledger/idledger/chain"
)

// TestRefusedTxAppHashAsReleased pins what a transaction that ran and was
// then refused (here CodeBlockChangesFull: it fit alone, not after the
// block's earlier ones) does to the app hash. The released ChangeTracker
// writes through and undoes a refused transaction's writes; in IAVL an
// undone write still leaves new node versions on its path, so the block's
// app hash differs from the same block without that transaction. Every
// node of a chain must compute this alike, across releases: a node that
// instead never writes a refused transaction's changes (a pending-writes
// tracker) forks from the others at the first such block, and cannot
// replay a chain that has one. Changing it takes a chain upgrade.
func TestRefusedTxAppHashAsReleased(t *testing.T) {
	w, a := atBlock1(t)
	_, b := atBlock1(t)
	txs := bulkRevocations(t, w, 10)
	full := block(t, a, 2, txs...)
	n := 0
	for n < len(full.TxResults) && full.TxResults[n].Code == 0 {
		n++
	}
	if n == len(txs) || full.TxResults[n].Code != uint32(chain.CodeBlockChangesFull) {
		t.Fatalf("no transaction was refused as over the block's change budget (%d accepted)", n)
	}
	without := block(t, b, 2, txs[:n]...)
	if bytes.Equal(full.AppHash, without.AppHash) {
		t.Fatal("the refused transaction left the app hash as if it had never run: the released tracker's write-and-undo changes it, so nodes of the two releases fork on this block")
	}
}
