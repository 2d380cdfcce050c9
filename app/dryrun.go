package app

import "context"

type dryRunKey struct{}

// DryRun marks a CheckTx call that only asks for the verdict: the
// transaction is not being admitted to the mempool, so the mempool's view
// of the state (the members' sequences of the transactions it holds) stays
// as it is. The node marks the calls of CometBFT's RPC /check_tx with it;
// the mempool's own calls are admissions.
func DryRun(ctx context.Context) context.Context {
	return context.WithValue(ctx, dryRunKey{}, true)
}

// IsDryRun reports whether ctx is marked by DryRun.
func IsDryRun(ctx context.Context) bool {
	v, _ := ctx.Value(dryRunKey{}).(bool)
	return v
}
