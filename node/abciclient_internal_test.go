package node

import (
	"context"
	"sync"
	"testing"
	"time"

	abcicli "github.com/cometbft/cometbft/abci/client"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/app"
)

// barrierApp's CheckTx returns only once two calls are in it at once.
type barrierApp struct {
	abci.BaseApplication
	arrived chan struct{}
	release chan struct{}
}

func (a *barrierApp) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	a.arrived <- struct{}{}
	<-a.release
	return &abci.ResponseCheckTx{Code: uint32(len(req.Tx))}, nil
}

// TestCheckTxRunsConcurrently: two CheckTx calls on the node's mempool
// connection are inside the app at the same time (with CometBFT's local
// client the second would wait for the first's mutex, and this test would
// time out), and each caller gets its own answer through the callbacks the
// mempool uses.
func TestCheckTxRunsConcurrently(t *testing.T) {
	app := &barrierApp{arrived: make(chan struct{}), release: make(chan struct{})}
	c, err := clientCreator(&guardedApp{Application: app}, false).NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	var global sync.Map
	c.SetResponseCallback(func(req *abci.Request, res *abci.Response) {
		global.Store(len(req.GetCheckTx().Tx), res.GetCheckTx().Code)
	})
	got := make(chan [2]uint32, 2)
	for _, n := range []int{1, 2} {
		go func() {
			rr, err := c.CheckTxAsync(context.Background(), &abci.RequestCheckTx{Tx: make([]byte, n)})
			if err != nil {
				t.Error(err)
				got <- [2]uint32{}
				return
			}
			rr.SetCallback(func(res *abci.Response) { got <- [2]uint32{uint32(n), res.GetCheckTx().Code} })
		}()
	}
	for range 2 {
		select {
		case <-app.arrived:
		case <-time.After(30 * time.Second):
			t.Fatal("the second CheckTx never entered the app while the first was in it")
		}
	}
	close(app.release)
	for range 2 {
		r := <-got
		if r[0] == 0 || r[0] != r[1] {
			t.Fatalf("a caller got the answer %d for its transaction of %d bytes", r[1], r[0])
		}
		if code, ok := global.Load(int(r[0])); !ok || code.(uint32) != r[0] {
			t.Fatalf("the global callback saw %v for the transaction of %d bytes", code, r[0])
		}
	}
	var _ abcicli.Client = c
}

// ctxApp records whether each CheckTx came marked as a dry run.
type ctxApp struct {
	abci.BaseApplication
	dry chan bool
}

func (a *ctxApp) CheckTx(ctx context.Context, _ *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	a.dry <- app.IsDryRun(ctx)
	return &abci.ResponseCheckTx{}, nil
}

// TestRPCCheckTxIsADryRun: the synchronous CheckTx (CometBFT's RPC
// /check_tx; its mempool only calls CheckTxAsync) reaches the app as a dry
// run, which admits nothing; the mempool's calls are admissions.
func TestRPCCheckTxIsADryRun(t *testing.T) {
	a := &ctxApp{dry: make(chan bool, 2)}
	c, err := clientCreator(&guardedApp{Application: a}, false).NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	c.SetResponseCallback(func(*abci.Request, *abci.Response) {})
	if _, err := c.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if !<-a.dry {
		t.Fatal("the RPC's CheckTx reached the app as an admission")
	}
	if _, err := c.CheckTxAsync(context.Background(), &abci.RequestCheckTx{Tx: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if <-a.dry {
		t.Fatal("the mempool's CheckTxAsync reached the app as a dry run")
	}
}
