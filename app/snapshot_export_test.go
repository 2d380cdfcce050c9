package app

import (
	"crypto/sha256"
	"errors"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cosmos/iavl"
)

// WaitSnapshots waits for a snapshot being taken in the background.
func (a *App) WaitSnapshots() { a.snaps.wait() }

// SnapshotNode encodes one exported node as a chunk carries it.
func SnapshotNode(key, value []byte, version int64, height int8) []byte {
	return appendExportNode(nil, &iavl.ExportNode{Key: key, Value: value, Version: version, Height: height})
}

// MakeSnapshot builds the snapshot a peer would offer for these chunks,
// claiming appHash at height.
func MakeSnapshot(height uint64, appHash []byte, chunks [][]byte) *abci.Snapshot {
	m := &snapshotMeta{Height: height, AppHash: appHash}
	for _, c := range chunks {
		m.Chunks = append(m.Chunks, sha256.Sum256(c))
	}
	raw := encodeSnapshotMeta(m)
	sum := sha256.Sum256(raw)
	return &abci.Snapshot{Height: height, Format: SnapshotFormat, Chunks: uint32(len(chunks)), Hash: sum[:], Metadata: raw}
}

// ExportChunks exports a tree version as chunks of nodesPerChunk nodes.
func ExportChunks(imm *iavl.ImmutableTree, nodesPerChunk int) ([][]byte, error) {
	ex, err := imm.Export()
	if err != nil {
		return nil, err
	}
	defer ex.Close()
	var chunks [][]byte
	var c []byte
	for k := 0; ; k++ {
		n, err := ex.Next()
		if errors.Is(err, iavl.ErrorExportDone) {
			break
		}
		if err != nil {
			return nil, err
		}
		if k > 0 && k%nodesPerChunk == 0 {
			chunks = append(chunks, c)
			c = nil
		}
		c = appendExportNode(c, n)
	}
	return append(chunks, c), nil
}

// SnapshotImportStats: how many nodes the latest restore looked at, the
// deepest its stack of unjoined subtrees grew, and the cap on that depth.
func (a *App) SnapshotImportStats() (nodes uint64, peak, maxDepth int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.snaps.lastGuard
	if g == nil {
		return 0, 0, 0
	}
	return g.nodes, g.peak, g.maxDepth
}
