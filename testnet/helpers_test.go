package testnet_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/testnet"
)

// startTwoValidators makes a 2-validator, 1-holder testnet named chainID in
// a fresh temporary directory and starts its idledger processes, which are
// stopped when the test ends. It returns the manifest and the running
// network.
func startTwoValidators(ctx context.Context, t *testing.T, chainID string) (*testnet.Manifest, *testnet.Network) {
	t.Helper()
	dir := filepath.Join(nodetest.TempDir(t), "tn")
	m, err := testnet.Init(testnet.InitOptions{Dir: dir, Validators: 2, Holders: 1, ChainID: chainID})
	if err != nil {
		t.Fatal(err)
	}
	n, err := testnet.Open(dir, testnet.OpenOptions{Binary: binary})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(testnet.DefaultStopGrace) })
	if err := n.Start(ctx, nil, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	return m, n
}
