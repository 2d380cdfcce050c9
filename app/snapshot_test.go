package app_test

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/internal/fixture"
)

func snapshotApp(t *testing.T, dir string, interval int64, keep int) *app.App {
	t.Helper()
	a, err := app.New(app.Options{DBDir: filepath.Join(dir, "state"),
		Snapshots: app.SnapshotOptions{Dir: filepath.Join(dir, "snapshots"), Interval: interval, KeepRecent: keep}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestSnapshotRestore: a node takes a snapshot every 2 heights and keeps
// the last 2; a fresh node restores the newest one chunk by chunk and ends
// with the same app hash and the same answers. A chunk with a wrong hash is
// fetched again from another peer, and a snapshot whose app hash is not
// the verified one is refused.
func TestSnapshotRestore(t *testing.T) {
	src, hashes := snapshotSource(t)
	hash := hashes[6]
	list, err := src.ListSnapshots(ctx, &abci.RequestListSnapshots{})
	if err != nil {
		t.Fatal(err)
	}
	var heights []uint64
	var snap *abci.Snapshot
	for _, s := range list.Snapshots {
		heights = append(heights, s.Height)
		if s.Height == 6 {
			snap = s
		}
	}
	if len(heights) != 2 || snap == nil {
		t.Fatalf("snapshots at heights %v, want the last two (4 and 6)", heights)
	}

	dst := snapshotApp(t, t.TempDir(), 0, 0)
	// The wrong app hash: refused.
	bad := bytes.Repeat([]byte{1}, 32)
	if r, _ := dst.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: snap, AppHash: bad}); r.Result != abci.ResponseOfferSnapshot_REJECT {
		t.Fatalf("offer with another app hash: %v, want REJECT", r.Result)
	}
	if r, _ := dst.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: snap, AppHash: hash}); r.Result != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer: %v, want ACCEPT", r.Result)
	}
	for i := uint32(0); i < snap.Chunks; i++ {
		c, err := src.LoadSnapshotChunk(ctx, &abci.RequestLoadSnapshotChunk{Height: snap.Height, Format: snap.Format, Chunk: i})
		if err != nil || len(c.Chunk) == 0 {
			t.Fatalf("chunk %d: %v (%d bytes)", i, err, len(c.Chunk))
		}
		tampered := bytes.Clone(c.Chunk)
		tampered[len(tampered)/2] ^= 1
		r, _ := dst.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: i, Chunk: tampered, Sender: "evil"})
		if r.Result != abci.ResponseApplySnapshotChunk_RETRY || len(r.RefetchChunks) != 1 || r.RejectSenders[0] != "evil" {
			t.Fatalf("tampered chunk %d: %v, want RETRY, refetch and reject the sender", i, r)
		}
		if r, _ := dst.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: i, Chunk: c.Chunk, Sender: "good"}); r.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("chunk %d: %v", i, r.Result)
		}
	}
	info, _ := dst.Info(ctx, &abci.RequestInfo{})
	if info.LastBlockHeight != 6 || !bytes.Equal(info.LastBlockAppHash, hash) {
		t.Fatalf("restored node at %d %X, want 6 %X", info.LastBlockHeight, info.LastBlockAppHash, hash)
	}
	// It goes on with the chain: the next block gives both the same hash.
	want := block(t, src, 7).AppHash
	if got := block(t, dst, 7).AppHash; !bytes.Equal(got, want) {
		t.Fatalf("block 7 after restore: %X, want %X", got, want)
	}
	// And a second offer is refused: the node has state now.
	if r, _ := dst.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: snap, AppHash: hash}); r.Result != abci.ResponseOfferSnapshot_ABORT {
		t.Fatalf("offer to a node with state: %v, want ABORT", r.Result)
	}
}

// TestRetainHeightKeepsSnapshotBlocks: with block retention 2 and a
// snapshot every 5 heights (keeping 1), Commit's retain height never passes
// the oldest snapshot kept, so a joining node finds the blocks after it.
func TestRetainHeightKeepsSnapshotBlocks(t *testing.T) {
	w := world(t)
	st := *w.AppState
	st.Params.BlockRetention = 2
	w2 := *w
	w2.AppState = &st
	a := snapshotApp(t, t.TempDir(), 5, 1)
	initChain(t, a, &w2)
	want := map[int64]int64{3: 2, 4: 3, 5: 4, 6: 5, 9: 5, 10: 5, 11: 10, 14: 10}
	for h := int64(1); h <= 14; h++ {
		if _, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: h, Time: fixture.Now.Add(time.Duration(h) * time.Second)}); err != nil {
			t.Fatal(err)
		}
		res, err := a.Commit(ctx, &abci.RequestCommit{})
		if err != nil {
			t.Fatal(err)
		}
		a.WaitSnapshots()
		if r, ok := want[h]; ok && res.RetainHeight != r {
			t.Errorf("height %d: retain height %d, want %d", h, res.RetainHeight, r)
		}
	}
}
