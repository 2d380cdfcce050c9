package app

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"testing"

	"github.com/cosmos/iavl"
	iavldb "github.com/cosmos/iavl/db"
)

// FuzzSnapshotMetadata: the metadata decoder never panics, and what it
// accepts encodes back to the same bytes.
func FuzzSnapshotMetadata(f *testing.F) {
	f.Add(encodeSnapshotMeta(&snapshotMeta{Height: 10, AppHash: make([]byte, 32), Chunks: make([][32]byte, 2)}))
	f.Add([]byte(snapshotMagic))
	f.Add([]byte("IDLSNAP1\x00\x00\x00\x00\x00\x00\x00\x01\x20"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeSnapshotMeta(b)
		if err != nil {
			return
		}
		if got := encodeSnapshotMeta(m); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", got, b)
		}
	})
}

// FuzzSnapshotChunk: the chunk decoder never panics, and what it accepts
// encodes back to the same bytes.
func FuzzSnapshotChunk(f *testing.F) {
	leaf := appendExportNode(nil, &iavl.ExportNode{Key: []byte("k"), Value: []byte("v"), Version: 3, Height: 0})
	inner := appendExportNode(nil, &iavl.ExportNode{Key: []byte("k"), Version: 3, Height: 1})
	f.Add(leaf)
	f.Add(append(append(bytes.Clone(leaf), leaf...), inner...))
	f.Add(appendExportNode(nil, &iavl.ExportNode{Key: nil, Value: []byte{}, Version: 1}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		nodes, err := decodeSnapshotChunk(b)
		if err != nil {
			return
		}
		var out []byte
		for _, n := range nodes {
			out = appendExportNode(out, n)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs: %x vs %x (%x)", out, b, sha256.Sum256(b))
		}
	})
}

// FuzzSnapshotImport: a chunk, whatever it holds, goes through the shape
// check into iavl's Importer without a panic, the Importer's stack never
// grows past the check's cap, and a chunk the check accepts as one tree is
// one iavl commits.
func FuzzSnapshotImport(f *testing.F) {
	leaf := func(k string) []byte {
		return appendExportNode(nil, &iavl.ExportNode{Key: []byte(k), Value: []byte("v"), Version: 3, Height: 0})
	}
	inner := func(k string, h int8) []byte {
		return appendExportNode(nil, &iavl.ExportNode{Key: []byte(k), Version: 3, Height: h})
	}
	f.Add(leaf("a"))
	f.Add(slices.Concat(leaf("a"), leaf("b"), inner("b", 1)))
	f.Add(slices.Concat(leaf("a"), leaf("b"), inner("b", 1), leaf("c"), inner("c", 2)))
	f.Add(slices.Concat(leaf("a"), leaf("b")))
	f.Add(inner("a", 1))
	f.Add(bytes.Repeat(leaf("a"), 100))
	f.Fuzz(func(t *testing.T, b []byte) {
		tree := iavl.NewMutableTree(iavldb.NewMemDB(), 100, true, iavl.NewNopLogger())
		imp, err := tree.Import(5)
		if err != nil {
			t.Fatal(err)
		}
		defer imp.Close()
		g := newImportGuard(1)
		err = eachSnapshotNode(b, func(n *iavl.ExportNode) error {
			if n.Version > 5 {
				return errSnapshotTree
			}
			if err := g.add(n); err != nil {
				return err
			}
			if len(g.stack) > g.maxDepth {
				t.Fatalf("stack %d deep, cap %d", len(g.stack), g.maxDepth)
			}
			return imp.Add(n)
		})
		if err != nil || g.done() != nil {
			return
		}
		if err := imp.Commit(); err != nil {
			t.Fatalf("the shape check accepted a tree iavl refuses: %v", err)
		}
	})
}
