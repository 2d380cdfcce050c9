package app_test

import (
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/internal/fixture"
)

// TestDryRunCheckTxLeavesMempoolView: CometBFT's public RPC /check_tx
// calls CheckTx on the mempool's connection without the mempool's lock, so
// it can land while the mempool rechecks after a block. Counted as an
// admission, a copy of a waiting transaction (anyone can read them from
// /unconfirmed_txs) would take its sequence in the mempool's view, and the
// recheck would then drop the real one: a stranger with RPC access could
// evict any member's transactions, block after block. The node marks those
// calls (app.DryRun): they answer as CheckTx does and change nothing.
func TestDryRunCheckTxLeavesMempoolView(t *testing.T) {
	w, a := atBlock1(t)
	tx, err := w.AttestTx(fixture.Attest{Sequence: 0})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx}); r.Code != 0 {
		t.Fatalf("admission: %d %s", r.Code, r.Log)
	}
	block(t, a, 2) // the mempool's view starts again from the committed state

	// During the recheck: a dry run of the waiting transaction answers OK...
	if r, _ := a.CheckTx(app.DryRun(ctx), &abci.RequestCheckTx{Tx: tx}); r.Code != 0 {
		t.Fatalf("dry run: %d %s, want OK", r.Code, r.Log)
	}
	// ...and the recheck still keeps the transaction.
	if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_Recheck}); r.Code != 0 {
		t.Fatalf("recheck after a dry run of the same transaction: %d %s, want OK (the dry run took its sequence)", r.Code, r.Log)
	}
	// A dry run after it is refused as the mempool would refuse a copy.
	if r, _ := a.CheckTx(app.DryRun(ctx), &abci.RequestCheckTx{Tx: tx}); r.Code == 0 {
		t.Fatal("a dry run of a transaction the mempool holds is accepted")
	}
}
