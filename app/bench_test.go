package app_test

import (
	"fmt"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/internal/fixture"
)

// benchTxs signs n Attest transactions by the operator for n distinct
// holders (random claim-status keys, as in production).
func benchTxs(b *testing.B, w *fixture.World, n int) [][]byte {
	b.Helper()
	holders, err := w.ManyHolders(n)
	if err != nil {
		b.Fatal(err)
	}
	txs := make([][]byte, n)
	for i, h := range holders {
		if txs[i], err = w.AttestTx(fixture.Attest{Holder: h, Sequence: uint64(i)}); err != nil {
			b.Fatal(err)
		}
	}
	return txs
}

// BenchmarkCheckTx is the mempool's cost per new transaction: decode, both
// signatures, the certificate chain (new certificate each time) and the
// state rules.
func BenchmarkCheckTx(b *testing.B) {
	w, a := atBlock1(b)
	txs := benchTxs(b, w, b.N)
	b.ResetTimer()
	defer cpuTime(b)()
	for i := 0; i < b.N; i++ {
		if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: txs[i]}); r.Code != 0 {
			b.Fatalf("tx %d: %d %s", i, r.Code, r.Log)
		}
	}
}

// BenchmarkFinalizeBlockPerTx is FinalizeBlock plus Commit per transaction
// in blocks of 500. "checked": the node saw the transactions in CheckTx first
// (the usual case: verification is reused). "cold": it did not (a node that
// catches up verifies everything in FinalizeBlock).
func BenchmarkFinalizeBlockPerTx(b *testing.B) {
	for _, checked := range []bool{true, false} {
		name := "cold"
		if checked {
			name = "checked"
		}
		b.Run(name, func(b *testing.B) {
			w, a := atBlock1(b)
			txs := benchTxs(b, w, b.N)
			if checked {
				for i, tx := range txs {
					if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx}); r.Code != 0 {
						b.Fatalf("tx %d: %d %s", i, r.Code, r.Log)
					}
				}
			}
			b.ResetTimer()
			defer cpuTime(b)()
			h := int64(2)
			for start := 0; start < len(txs); start += 500 {
				end := min(start+500, len(txs))
				res := block(b, a, h, txs[start:end]...)
				for i, r := range res.TxResults {
					if r.Code != 0 {
						b.Fatal(fmt.Sprintf("block %d tx %d: %d %s", h, i, r.Code, r.Log))
					}
				}
				h++
			}
		})
	}
}

// BenchmarkRecheck is the cost per mempool transaction of the recheck that
// follows every block: transactions checked before, run again on the new
// state (nothing is verified again).
func BenchmarkRecheck(b *testing.B) {
	w, a := atBlock1(b)
	txs := benchTxs(b, w, b.N)
	for i, tx := range txs {
		if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx}); r.Code != 0 {
			b.Fatalf("tx %d: %d %s", i, r.Code, r.Log)
		}
	}
	block(b, a, 2) // an empty block: the check state starts again from it
	b.ResetTimer()
	defer cpuTime(b)()
	for i := 0; i < b.N; i++ {
		if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: txs[i], Type: abci.CheckTxType_Recheck}); r.Code != 0 {
			b.Fatalf("tx %d: %d %s", i, r.Code, r.Log)
		}
	}
}
