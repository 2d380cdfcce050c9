package app_test

import (
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/internal/fixture"
)

// TestKeepVersionsKeepsTheVersionTheNextHeaderProves: a proof read at
// version h is checked against the app hash in the header of block h+1, so
// a relying party (and the verifier feed, which proves block h+1's entries
// at version h) asks for version h once h+1 is committed. A node told to
// keep one version deleted h at the commit of h+1: KeepVersions is at least
// 2 whatever it is set to.
func TestKeepVersionsKeepsTheVersionTheNextHeaderProves(t *testing.T) {
	w := world(t)
	a, err := app.New(app.Options{DBDir: t.TempDir(), KeepVersions: 1, Store: app.StoreOptions{PruneEvery: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	initChain(t, a, w)
	for h := int64(1); h <= 3; h++ {
		block(t, a, h)
	}
	r, err := a.Query(ctx, &abci.RequestQuery{Path: chain.PathKey, Data: chain.MemberKey(fixture.Operator), Height: 2, Prove: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != 0 || r.ProofOps == nil {
		t.Fatalf("a proof at version 2 after block 3: code %d %s, want one (block 3's header proves it)", r.Code, r.Log)
	}
}
