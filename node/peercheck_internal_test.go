package node

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/genesis"
)

// openApp allows every peer, as idledger's app does before it has state.
type openApp struct {
	abci.BaseApplication
	height int64
}

func (a *openApp) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	return &abci.ResponseInfo{LastBlockHeight: a.height}, nil
}

func (a *openApp) Query(context.Context, *abci.RequestQuery) (*abci.ResponseQuery, error) {
	return &abci.ResponseQuery{Code: abci.CodeTypeOK}, nil
}

// TestNoPeerWindowBeforeFirstBlock: a genesis validator's node, before its
// chain's first commit (the app has no state and would allow anyone),
// allows only the genesis's members' nodes and its observers; after it,
// the app decides. A node that joins later is not held to the genesis.
func TestNoPeerWindowBeforeFirstBlock(t *testing.T) {
	const self, other, replica, observer, stranger = "aa01", "bb02", "cc03", "dd04", "ee05"
	st := &genesis.AppState{Members: []genesis.Member{
		{ID: "op", Roles: []string{"governor", "validator"}, NodeIDs: []string{self}},
		{ID: "bank", Roles: []string{"validator"}, NodeIDs: []string{other}},
		{ID: "shop", Roles: []string{"attester"}, NodeIDs: []string{replica}},
		{ID: "keyless", Roles: []string{"attester"}},
	}}
	app := &openApp{}
	g := &guardedApp{Application: app, genesisPeers: genesisPeers(st, []string{observer}, self)}
	ask := func(id string) bool {
		r, err := g.Query(context.Background(), &abci.RequestQuery{Path: peerFilterPath + id})
		return err == nil && r.Code == abci.CodeTypeOK
	}
	for id, want := range map[string]bool{self: true, other: true, replica: true, observer: true, stranger: false} {
		if got := ask(id); got != want {
			t.Errorf("height 0: peer %s allowed = %v, want %v", id, got, want)
		}
	}
	app.height = 1
	if !ask(stranger) {
		t.Error("height 1: the app's answer was overridden")
	}
	if genesisPeers(st, nil, stranger) != nil {
		t.Error("a node outside the genesis is held to the genesis's peers")
	}
}
