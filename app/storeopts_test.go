package app_test

import (
	"bytes"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/internal/fixture"
)

// TestStoreOptionsKeepTheHash: how the state is stored (IAVL's fast index
// on or off, the database's cache, version pruning) is a node's own
// choice: nodes that store differently agree on every app hash and every
// proven answer, and a node that turns the fast index on after running
// without it (the default) reopens its state and goes on with it.
func TestStoreOptionsKeepTheHash(t *testing.T) {
	w := world(t)
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	opts := []app.Options{
		{DBDir: dirs[0]},
		{DBDir: dirs[1], Store: app.StoreOptions{FastIndex: true, DBCacheMiB: 1}},
		{DBDir: dirs[2], KeepVersions: 2, Store: app.StoreOptions{PruneEvery: 1}},
	}
	apps := make([]*app.App, len(opts))
	for i, o := range opts {
		a, err := app.New(o)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { apps[i].Close() }()
		apps[i] = a
		initChain(t, a, w)
	}
	holders := []string{fixture.Alice, fixture.Bob}
	for h := int64(1); h <= 4; h++ {
		var txs [][]byte
		if int(h) <= len(holders) {
			raw, err := w.AttestTx(fixture.Attest{Holder: holders[h-1], Sequence: uint64(h - 1), ClaimType: "kyc"})
			if err != nil {
				t.Fatal(err)
			}
			txs = append(txs, raw)
		}
		var want []byte
		for i, a := range apps {
			res := block(t, a, h, txs...)
			for _, r := range res.TxResults {
				if r.Code != 0 {
					t.Fatalf("store %d, height %d: refused %d %s", i, h, r.Code, r.Log)
				}
			}
			if i == 0 {
				want = res.AppHash
			} else if !bytes.Equal(res.AppHash, want) {
				t.Fatalf("height %d: store %d's app hash %X, store 0's %X", h, i, res.AppHash, want)
			}
		}
	}
	key := chain.ClaimKey(w.Subject(fixture.Bob), "kyc")
	var value []byte
	for i, a := range apps {
		q, err := a.Query(ctx, &abci.RequestQuery{Path: chain.PathKey, Data: key, Prove: true})
		if err != nil || q.Code != 0 || q.ProofOps == nil || len(q.Value) == 0 {
			t.Fatalf("store %d: proven query: %v %+v", i, err, q)
		}
		if i > 0 && !bytes.Equal(q.Value, value) {
			t.Fatalf("store %d answers another value", i)
		}
		value = q.Value
	}
	// The pruned store keeps only its last two versions.
	if q, _ := apps[2].Query(ctx, &abci.RequestQuery{Path: chain.PathKey, Data: key, Height: 1}); q.Code == 0 {
		t.Error("the pruned store still answers at height 1")
	}
	if q, _ := apps[0].Query(ctx, &abci.RequestQuery{Path: chain.PathKey, Data: key, Height: 1}); q.Code != 0 {
		t.Errorf("the default store forgot height 1: %s", q.Log)
	}
	// Reopen the default store with the fast index on: it builds the index
	// from the tree and answers as before.
	if err := apps[0].Close(); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Options{DBDir: dirs[0], Store: app.StoreOptions{FastIndex: true}})
	if err != nil {
		t.Fatal(err)
	}
	apps[0] = a
	q, err := a.Query(ctx, &abci.RequestQuery{Path: chain.PathKey, Data: key})
	if err != nil || q.Code != 0 || !bytes.Equal(q.Value, value) {
		t.Fatalf("reopened with the fast index: %v %+v", err, q)
	}
	if res := block(t, a, 5); len(res.AppHash) == 0 {
		t.Fatal("no app hash")
	}
}
