package app_test

import (
	"bytes"
	"sync"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/internal/fixture"
)

// TestConcurrentCheckTxDuringBlocks: the node calls CheckTx without any
// ABCI mutex (node/abciclient.go), so several CheckTx calls (verifying
// outside the app's lock), queries and blocks run at once. Blocks executed that way end with the app hash of
// the same blocks on an app that saw nothing else. Run with -race.
func TestConcurrentCheckTxDuringBlocks(t *testing.T) {
	w := world(t)
	holders, err := w.ManyHolders(40)
	if err != nil {
		t.Fatal(err)
	}
	txs := make([][]byte, len(holders))
	for i, h := range holders {
		if txs[i], err = w.AttestTx(fixture.Attest{Holder: h, Sequence: uint64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	busy, quiet := openApp(t, t.TempDir()), openApp(t, t.TempDir())
	defer busy.Close()
	defer quiet.Close()
	for _, a := range []*app.App{busy, quiet} {
		initChain(t, a, w)
		block(t, a, 1)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for round := 0; ; round++ {
				select {
				case <-stop:
					return
				default:
				}
				for i := g; i < len(txs); i += 3 {
					r, err := busy.CheckTx(ctx, &abci.RequestCheckTx{Tx: txs[i], Type: abci.CheckTxType(round % 2)})
					if err != nil {
						t.Error(err)
						return
					}
					if r.Code != 0 && r.Code != uint32(chain.CodeBadSequence) {
						t.Errorf("CheckTx %d: %d %s", i, r.Code, r.Log)
					}
					busy.Query(ctx, &abci.RequestQuery{Path: chain.PathKey, Data: chain.MemberKey(fixture.Operator)})
				}
			}
		}(g)
	}
	for h := int64(2); h < 6; h++ {
		chunk := txs[(h-2)*10 : (h-1)*10]
		rb, rq := block(t, busy, h, chunk...), block(t, quiet, h, chunk...)
		for i, r := range rb.TxResults {
			if r.Code != 0 {
				t.Fatalf("block %d tx %d: %d %s", h, i, r.Code, r.Log)
			}
		}
		if !bytes.Equal(rb.AppHash, rq.AppHash) {
			t.Fatalf("block %d: app hash %X with concurrent CheckTx, %X without", h, rb.AppHash, rq.AppHash)
		}
	}
	close(stop)
	wg.Wait()
}
