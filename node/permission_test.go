package node_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
)

// TestPermissionedPeering starts a validator, a node that is registered to
// no member, and a node the validator's home lists as an observer, both
// dialing the validator as a persistent peer. The validator's app refuses
// the unregistered node (CometBFT's filter_peers asks it through
// /p2p/filter/id/ID): the two never connect and the stranger stays at
// height 0, while the observer connects and syncs blocks.
func TestPermissionedPeering(t *testing.T) {
	t.Parallel()
	v := nodetest.New(t, "permission-test")
	genesisFile := filepath.Join(v.Home, node.GenesisFile)
	cfg, err := node.LoadConfig(v.Home)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.FilterPeers {
		t.Fatal("filter_peers is off in a new home")
	}
	peer := validatorPeer(t, v, transportDefault)

	stranger := newJoiner(t, transportDefault, v.Dir, "stranger", genesisFile, peer)
	observer := newJoiner(t, transportDefault, v.Dir, "observer", genesisFile, peer)
	if err := node.WriteObservers(v.Home, []string{observer.id}); err != nil {
		t.Fatal(err)
	}
	if got, err := node.LoadObservers(v.Home); err != nil || !slices.Equal(got, []string{observer.id}) {
		t.Fatalf("LoadObservers = %v, %v", got, err)
	}
	v.Start(t)
	stranger.start(t)
	observer.start(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The observer connects and catches up: dialing works, and the
	// stranger had the same chances.
	target := height(ctx, t, v.URL) + 2
	nodetest.WaitHeight(ctx, t, observer.url, target)
	if ps := peers(ctx, t, v.URL); !slices.Contains(ps, observer.id) {
		t.Errorf("validator's peers %v lack the observer %s", ps, observer.id)
	}
	// Keep watching for a while: the stranger redials its persistent peer.
	staysOut(ctx, t, v.URL, stranger, "the unregistered node", true)
	if h := height(ctx, t, stranger.url); h != 0 {
		t.Errorf("the unregistered node reached height %d", h)
	}
	// The decisions are the validator app's answers to the filter query.
	c, err := rpchttp.New(v.URL, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   string
		want uint32
	}{{stranger.id, 4}, {observer.id, 0}, {v.Init.NodeID, 0}} {
		r, err := c.ABCIQuery(ctx, "/p2p/filter/id/"+tc.id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Response.Code != tc.want {
			t.Errorf("/p2p/filter/id/%s: code %d (%s), want %d", tc.id, r.Response.Code, r.Response.Log, tc.want)
		}
	}
}
