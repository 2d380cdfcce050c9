package node

import (
	"context"
	"sync"

	abcicli "github.com/cometbft/cometbft/abci/client"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/proxy"

	"github.com/idledger/idledger/app"
)

// clientCreator connects CometBFT to the app in-process. idledger's app
// locks for itself, so each ABCI connection (consensus, mempool, query,
// snapshot) gets its own mutex, and CheckTx takes none at all: the RPC
// handlers and the mempool reactor's peers call it concurrently, and
// each call verifies on whatever core is free while a block executes on
// another (app.CheckTx: verification outside the app's lock, the state
// rules under it). Another app (the kvstore reference) gets CometBFT's
// one shared mutex.
func clientCreator(ga *guardedApp, other bool) proxy.ClientCreator {
	if other {
		return proxy.NewLocalClientCreator(ga)
	}
	return concurrentCheckTx{ga}
}

type concurrentCheckTx struct{ app abci.Application }

func (c concurrentCheckTx) NewABCIClient() (abcicli.Client, error) {
	return &checkTxClient{Client: abcicli.NewLocalClient(nil, c.app), app: c.app}, nil
}

// checkTxClient is CometBFT's local client for one connection, with CheckTx
// outside the connection's mutex. The mempool still serialises what must
// be: a recheck holds its update lock, so no new CheckTx runs during one,
// and it runs the recheck's calls one at a time.
type checkTxClient struct {
	abcicli.Client
	app abci.Application

	mu sync.Mutex
	cb abcicli.Callback // the mempool's global callback
}

func (c *checkTxClient) SetResponseCallback(cb abcicli.Callback) {
	c.mu.Lock()
	c.cb = cb
	c.mu.Unlock()
	c.Client.SetResponseCallback(cb)
}

// CheckTx is the synchronous call, which CometBFT's mempool (the "flood"
// one) never makes: it is the RPC's /check_tx, a question that admits
// nothing. Marked a dry run, it leaves the mempool's view of the state as it
// is; else anyone with RPC access could replay a waiting transaction while
// the mempool rechecks and so make the recheck drop it (app.DryRun). The
// "app" mempool's calls, lock-free, are admissions.
func (c *checkTxClient) CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	if !abcicli.IsLockFreeContext(ctx) {
		ctx = app.DryRun(ctx)
	}
	return c.app.CheckTx(ctx, req)
}

// CheckTxAsync answers at once, as the local client does: the global
// callback first, then a ReqRes whose callback runs as soon as it is set.
func (c *checkTxClient) CheckTxAsync(ctx context.Context, req *abci.RequestCheckTx) (*abcicli.ReqRes, error) {
	res, err := c.app.CheckTx(ctx, req)
	if err != nil {
		return nil, err
	}
	areq, ares := abci.ToRequestCheckTx(req), abci.ToResponseCheckTx(res)
	c.mu.Lock()
	cb := c.cb
	c.mu.Unlock()
	if cb != nil {
		cb(areq, ares)
	}
	rr := abcicli.NewReqRes(areq)
	rr.Response = ares
	rr.InvokeCallback() // none set yet: marks it answered, so SetCallback runs its callback at once
	rr.Done()
	return rr, nil
}
