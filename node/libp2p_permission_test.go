package node_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
)

// TestLibP2PPermissionedPeering: on CometBFT's libp2p transport, which does
// not run CometBFT's peer filters, idledger's gate closes a connection from
// a node registered to no member before any stream, while an observer the
// validator lists connects and syncs.
func TestLibP2PPermissionedPeering(t *testing.T) {
	t.Parallel()
	v := nodetest.New(t, "libp2p-permission-test")
	// The validator on libp2p, with no peers of its own.
	peer := validatorPeer(t, v, transportLibP2P)
	genesisFile := filepath.Join(v.Home, node.GenesisFile)
	dir := nodetest.TempDir(t)
	stranger := newJoiner(t, transportLibP2P, dir, "stranger", genesisFile, peer)
	observer := newJoiner(t, transportLibP2P, dir, "observer", genesisFile, peer)
	if err := node.WriteObservers(v.Home, []string{observer.id}); err != nil {
		t.Fatal(err)
	}
	v.Start(t)
	stranger.start(t)
	observer.start(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	target := height(ctx, t, v.URL) + 2
	nodetest.WaitHeight(ctx, t, observer.url, target)
	// net_info names libp2p peers by their libp2p IDs.
	if ps := peers(ctx, t, v.URL); !slices.Contains(ps, observer.peerName(t)) {
		t.Errorf("validator's peers %v lack the observer", ps)
	}
	staysOut(ctx, t, v.URL, stranger, "the unregistered node", true)
}
