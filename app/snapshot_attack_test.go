package app_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cosmos/iavl"
	iavldb "github.com/cosmos/iavl/db"

	"github.com/idledger/idledger/app"
)

// snapshotSource runs a chain of 6 blocks taking a snapshot every 2 heights
// (keeping 4 and 6) and returns it with its app hash at each height.
func snapshotSource(t *testing.T) (*app.App, map[uint64][]byte) {
	t.Helper()
	w := world(t)
	src := snapshotApp(t, t.TempDir(), 2, 2)
	initChain(t, src, w)
	hashes := map[uint64][]byte{}
	for h := int64(1); h <= 6; h++ {
		var txs [][]byte
		if h == 1 {
			txs = attestTxs(t, w, "alice", "bob")
		}
		block(t, src, h, txs...)
		src.WaitSnapshots()
		info, _ := src.Info(ctx, &abci.RequestInfo{})
		hashes[uint64(h)] = info.LastBlockAppHash
	}
	return src, hashes
}

// offerAndApply offers snap with the verified app hash and applies chunks
// in order, as CometBFT would; it returns the result of the last chunk
// applied (or of a refused offer, as an ABORT).
func offerAndApply(t *testing.T, a *app.App, snap *abci.Snapshot, appHash []byte, chunks [][]byte) *abci.ResponseApplySnapshotChunk {
	t.Helper()
	if r, _ := a.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: snap, AppHash: appHash}); r.Result != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer of the snapshot at %d: %v, want ACCEPT (its metadata is well formed)", snap.Height, r.Result)
	}
	var res *abci.ResponseApplySnapshotChunk
	for i, c := range chunks {
		var err error
		res, err = a.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: uint32(i), Chunk: c, Sender: "peer1"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			break
		}
	}
	return res
}

func honestChunks(t *testing.T, src *app.App, snap *abci.Snapshot) [][]byte {
	t.Helper()
	var chunks [][]byte
	for i := uint32(0); i < snap.Chunks; i++ {
		c, err := src.LoadSnapshotChunk(ctx, &abci.RequestLoadSnapshotChunk{Height: snap.Height, Format: snap.Format, Chunk: i})
		if err != nil || len(c.Chunk) == 0 {
			t.Fatalf("chunk %d: %v", i, err)
		}
		chunks = append(chunks, c.Chunk)
	}
	return chunks
}

func honestSnapshot(t *testing.T, src *app.App, height uint64) *abci.Snapshot {
	t.Helper()
	list, _ := src.ListSnapshots(ctx, &abci.RequestListSnapshots{})
	for _, s := range list.Snapshots {
		if s.Height == height {
			return s
		}
	}
	t.Fatalf("no snapshot at %d", height)
	return nil
}

// bigTree builds a tree of n keys saved at version v and exports it as
// chunks of 5000 nodes.
func bigTree(t *testing.T, n int, v int64) ([][]byte, []byte) {
	t.Helper()
	tree := iavl.NewMutableTree(iavldb.NewMemDB(), 1000, true, iavl.NewNopLogger(), iavl.InitialVersionOption(uint64(v)))
	for i := 0; i < n; i++ {
		if _, err := tree.Set([]byte(fmt.Sprintf("key-%07d", i)), []byte("value")); err != nil {
			t.Fatal(err)
		}
	}
	hash, ver, err := tree.SaveVersion()
	if err != nil || ver != v {
		t.Fatalf("save: %v at %d", err, ver)
	}
	imm, err := tree.GetImmutable(ver)
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := app.ExportChunks(imm, 5000)
	if err != nil {
		t.Fatal(err)
	}
	return chunks, hash
}

func leaves(n int, version int64) []byte {
	var c []byte
	for i := 0; i < n; i++ {
		c = append(c, app.SnapshotNode([]byte(fmt.Sprintf("k%06d", i)), []byte("v"), version, 0)...)
	}
	return c
}

// TestSnapshotHostileTree: a peer offers snapshots at the real height 6
// with the genuine, verified app hash in their metadata but chunks of its
// own making, so every chunk passes the hash check. Each is refused with
// REJECT_SNAPSHOT (CometBFT then tries another snapshot; ABORT would end
// state sync) naming the sender, after looking at no more nodes than a
// balanced tree's stack holds; the node still opens after a restart, and
// restores the honest snapshot at the lower height 4, and opens at that
// height after another restart (no hostile nodes at height 6 are left in
// its state).
func TestSnapshotHostileTree(t *testing.T) {
	src, hashes := snapshotSource(t)
	const h = 6
	big, _ := bigTree(t, 20_000, h) // a well-formed tree, not the chain's
	for _, tc := range []struct {
		name     string
		chunks   [][]byte
		maxNodes uint64 // nodes looked at before the refusal
	}{
		// Leaves only: iavl's Importer would stack every one of them.
		{"100000 leaves", [][]byte{leaves(100_000, h)}, 100},
		{"an inner node without children", [][]byte{app.SnapshotNode([]byte("k"), nil, h, 1)}, 1},
		{"an inner node over one leaf", [][]byte{leaves(1, h), app.SnapshotNode([]byte("k"), nil, h, 1)}, 2},
		{"an inner node too high", [][]byte{append(leaves(2, h), app.SnapshotNode([]byte("k000001"), nil, h, 5)...)}, 3},
		{"two leaves and no root", [][]byte{leaves(2, h)}, 2},
		{"a tree with another root", [][]byte{append(leaves(2, h), app.SnapshotNode([]byte("k000001"), nil, h, 1)...)}, 3},
		{"a node above the snapshot's height", [][]byte{leaves(1, h+1)}, 0},
		{"a chunk that does not decode", [][]byte{{0xff}}, 0},
		// A large well-formed part (written to disk) and then garbage.
		{"a good start and a bad end", append(big[:3:3], leaves(3, h)), 15_003},
		{"a good start and a chunk that does not decode", append(big[:3:3], []byte{0xff}), 15_000},
		{"a well-formed tree with another root", big, uint64(20_000*2 - 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Restarting after the refusal, and restoring the honest
			// snapshot without a restart in between.
			for _, restart := range []bool{false, true} {
				dir := t.TempDir()
				dst := snapshotApp(t, dir, 0, 0)
				res := offerAndApply(t, dst, app.MakeSnapshot(h, hashes[h], tc.chunks), hashes[h], tc.chunks)
				if res.Result != abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT {
					t.Fatalf("hostile snapshot: %v, want REJECT_SNAPSHOT", res.Result)
				}
				if len(res.RejectSenders) != 1 || res.RejectSenders[0] != "peer1" {
					t.Errorf("hostile snapshot: senders refused %q, want its sender", res.RejectSenders)
				}
				nodes, peak, maxDepth := dst.SnapshotImportStats()
				if nodes > tc.maxNodes || peak > maxDepth || maxDepth > 100 {
					t.Fatalf("looked at %d nodes (at most %d wanted), stack %d deep (cap %d)", nodes, tc.maxNodes, peak, maxDepth)
				}
				if info, _ := dst.Info(ctx, &abci.RequestInfo{}); info.LastBlockHeight != 0 {
					t.Fatalf("after the refusal the node is at height %d, want 0", info.LastBlockHeight)
				}
				if restart {
					dst.Close()
					dst = snapshotApp(t, dir, 0, 0)
				}
				honest := honestSnapshot(t, src, 4)
				if res := offerAndApply(t, dst, honest, hashes[4], honestChunks(t, src, honest)); res.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
					t.Fatalf("honest snapshot after the hostile one: %v", res.Result)
				}
				dst.Close()
				dst = snapshotApp(t, dir, 0, 0)
				if info, _ := dst.Info(ctx, &abci.RequestInfo{}); info.LastBlockHeight != 4 || !bytes.Equal(info.LastBlockAppHash, hashes[4]) {
					t.Fatalf("after a restart: height %d %X, want 4 %X", info.LastBlockHeight, info.LastBlockAppHash, hashes[4])
				}
				if got := block(t, dst, 5).AppHash; !bytes.Equal(got, hashes[5]) {
					t.Fatalf("block 5 on the restored node: %X, want %X", got, hashes[5])
				}
			}
		})
	}
}

// TestSnapshotInterruptedRestore: a node stops (or crashes) halfway through
// restoring a snapshot; it starts again at height 0 with the partial import
// gone, restores the snapshot in full, and opens at its height after one
// more restart.
func TestSnapshotInterruptedRestore(t *testing.T) {
	chunks, hash := bigTree(t, 20_000, 3) // 8 chunks of 5000 nodes
	snap := app.MakeSnapshot(3, hash, chunks)
	dir := t.TempDir()
	dst := snapshotApp(t, dir, 0, 0)
	if res := offerAndApply(t, dst, snap, hash, chunks[:5]); res.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
		t.Fatalf("first chunks: %v", res.Result)
	}
	dst.Close() // 25000 nodes imported, most of them written

	dst = snapshotApp(t, dir, 0, 0)
	if info, _ := dst.Info(ctx, &abci.RequestInfo{}); info.LastBlockHeight != 0 {
		t.Fatalf("after the interruption the node is at height %d, want 0", info.LastBlockHeight)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "restore.db")); !os.IsNotExist(err) {
		t.Fatalf("the interrupted import is still on disk: %v", err)
	}
	if res := offerAndApply(t, dst, snap, hash, chunks); res.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
		t.Fatalf("restore after the interruption: %v", res.Result)
	}
	dst.Close()
	dst = snapshotApp(t, dir, 0, 0)
	if info, _ := dst.Info(ctx, &abci.RequestInfo{}); info.LastBlockHeight != 3 || !bytes.Equal(info.LastBlockAppHash, hash) {
		t.Fatalf("after a restart: height %d %X, want 3 %X", info.LastBlockHeight, info.LastBlockAppHash, hash)
	}
}
