package app_test

import (
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/idledger/idledger/internal/fixture"
)

func certMisses(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "idledger_cert_cache_misses_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no cert cache metric")
	return 0
}

// TestRecheckAndBlockVerifyNothingAgain: after CheckTx verified
// transactions, the recheck that follows a block, the proposal calls and
// the block that commits them check no certificate chain again (the
// certificate cache's misses stay put), and still accept them.
func TestRecheckAndBlockVerifyNothingAgain(t *testing.T) {
	w := world(t)
	a := openApp(t, t.TempDir())
	defer a.Close()
	reg := prometheus.NewRegistry()
	a.RegisterCacheMetrics(reg)
	initChain(t, a, w)
	block(t, a, 1)
	holders, err := w.ManyHolders(3)
	if err != nil {
		t.Fatal(err)
	}
	txs := attestTxs(t, w, holders...)
	for i, tx := range txs {
		if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_New}); r.Code != 0 {
			t.Fatalf("tx %d: %d %s", i, r.Code, r.Log)
		}
	}
	checked := certMisses(t, reg)
	if checked < 3 {
		t.Fatalf("%v certificate chains checked for 3 new certificates", checked)
	}
	block(t, a, 2) // an empty block: the mempool rechecks
	for i, tx := range txs {
		if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_Recheck}); r.Code != 0 {
			t.Fatalf("recheck %d: %d %s", i, r.Code, r.Log)
		}
	}
	tm := fixture.Now.Add(3e9)
	prep, _ := a.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: txs, MaxTxBytes: 1 << 20, Height: 3, Time: tm})
	if pr, _ := a.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: prep.Txs, Height: 3, Time: tm}); pr.Status != abci.ResponseProcessProposal_ACCEPT || len(prep.Txs) != 3 {
		t.Fatalf("proposal of %d txs: %v", len(prep.Txs), pr.Status)
	}
	res := block(t, a, 3, prep.Txs...)
	for i, r := range res.TxResults {
		if r.Code != 0 {
			t.Fatalf("block tx %d: %d %s", i, r.Code, r.Log)
		}
	}
	if after := certMisses(t, reg); after != checked {
		t.Fatalf("%v more certificate chains checked after CheckTx", after-checked)
	}
}
