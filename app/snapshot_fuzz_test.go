package app

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/cosmos/iavl"
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
