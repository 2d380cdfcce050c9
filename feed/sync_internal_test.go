package feed

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/idledger/idledger/feed/feedpb"
)

func TestPeerLimiterBoundsEachPeer(t *testing.T) {
	l := newPeerLimiter(2, 3)
	now := time.Unix(1000, 0)
	a, b := peer.ID("a"), peer.ID("b")
	for i := 0; i < 3; i++ {
		if !l.allow(a, now) {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	if l.allow(a, now) {
		t.Fatal("a request over the burst was allowed")
	}
	if !l.allow(b, now) {
		t.Fatal("another peer was limited by the first one's requests")
	}
	if !l.allow(a, now.Add(600*time.Millisecond)) {
		t.Fatal("the bucket did not refill at the rate")
	}
	if l.allow(a, now.Add(700*time.Millisecond)) {
		t.Fatal("refilled faster than the rate")
	}
}

func TestUpdateCacheBoundedInBytesAndCount(t *testing.T) {
	c := newUpdateCache(1000, 3)
	put := func(h int64, size int) {
		c.put(&built{height: h, all: &feedpb.FeedUpdate{Height: h}, size: size})
	}
	put(1, 400)
	put(2, 400)
	put(3, 400) // over 1000 bytes: 1 goes
	if c.get(1) != nil || c.get(2) == nil || c.get(3) == nil || c.bytes != 800 {
		t.Fatalf("after a byte overflow: 1 %v, 2 %v, 3 %v, %d bytes", c.get(1) != nil, c.get(2) != nil, c.get(3) != nil, c.bytes)
	}
	put(4, 10)
	put(5, 10) // over 3 entries: 2 goes
	if c.get(2) != nil || c.get(5) == nil || len(c.order) != 3 {
		t.Fatalf("after a count overflow: %v", c.order)
	}
	put(6, 5000) // bigger than the whole cache: not kept
	if c.get(6) != nil || c.latest() != 5 {
		t.Fatalf("oversized update cached")
	}
}

// countingRPC fails every call and counts the builds that reached it.
type countingRPC struct {
	RPC
	commits atomic.Int64
}

func (r *countingRPC) Commit(context.Context, *int64) (*coretypes.ResultCommit, error) {
	r.commits.Add(1)
	return nil, errors.New("no such height")
}

// TestSyncBuildsBudgeted: a peer asking for heights the cache lacks gets at
// most BuildBurst builds from the node at once, and all peers together at
// most GlobalBuildBurst: the rest are refused before touching the node.
func TestSyncBuildsBudgeted(t *testing.T) {
	rpc := &countingRPC{}
	sv := newSyncServer("c", rpc, newUpdateCache(1<<20, 10), func(string, ...any) {})
	ctx := context.Background()
	for h := int64(1); h <= 3*BuildBurst; h++ {
		_, _ = sv.buildMissing(ctx, "a", h)
	}
	if n := rpc.commits.Load(); n < BuildBurst || n > BuildBurst+5 {
		t.Fatalf("one peer got %d builds, want about %d", n, BuildBurst)
	}
	_, err := sv.buildMissing(ctx, "a", 1)
	if err == nil || !strings.Contains(err.Error(), "build budget") {
		t.Fatalf("over the budget: %v", err)
	}
	// Many peers: the global budget holds.
	rpc.commits.Store(0)
	for i := 0; i < 20; i++ {
		for h := int64(1); h <= BuildBurst; h++ {
			_, _ = sv.buildMissing(ctx, peer.ID(fmt.Sprintf("p%d", i)), h)
		}
	}
	if n := rpc.commits.Load(); n > GlobalBuildBurst+20 {
		t.Fatalf("20 peers got %d builds, over the global budget of %d", n, GlobalBuildBurst)
	}
}
