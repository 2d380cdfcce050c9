package app_test

import (
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/internal/fixture"
)

// BenchmarkProposalPerTx: PrepareProposal (the proposer) and
// ProcessProposal (every other validator) per transaction, for a block of
// 500 attestations the node admitted in CheckTx first (the usual case).
func BenchmarkProposalPerTx(b *testing.B) {
	w, a := atBlock1(b)
	txs := benchTxs(b, w, 500)
	for i, tx := range txs {
		if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx}); r.Code != 0 {
			b.Fatalf("tx %d: %d %s", i, r.Code, r.Log)
		}
	}
	tm := fixture.Now.Add(2 * time.Second)
	b.Run("prepare", func(b *testing.B) {
		defer cpuTime(b)()
		for i := 0; i < b.N; i += len(txs) {
			res, err := a.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: txs, MaxTxBytes: 8 << 20, Height: 2, Time: tm})
			if err != nil || len(res.Txs) != len(txs) {
				b.Fatalf("%d of %d txs proposed: %v", len(res.Txs), len(txs), err)
			}
		}
	})
	b.Run("process", func(b *testing.B) {
		defer cpuTime(b)()
		for i := 0; i < b.N; i += len(txs) {
			res, err := a.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: txs, Height: 2, Time: tm})
			if err != nil || res.Status != abci.ResponseProcessProposal_ACCEPT {
				b.Fatalf("%v %v", res.Status, err)
			}
		}
	})
}
