package app

// State-sync snapshots: CometBFT's ListSnapshots, LoadSnapshotChunk,
// OfferSnapshot and ApplySnapshotChunk over an export of the IAVL tree.
//
// A snapshot of height H is the post-order export of the tree's version H
// (iavl's Exporter), cut at node boundaries into chunks of about
// snapshotChunkSize bytes, and a metadata record naming H, the app hash and
// every chunk's SHA-256. The snapshot's hash (what CometBFT compares between
// peers) is the SHA-256 of the metadata. On disk:
//
//	DIR/H/metadata, DIR/H/chunk-0, DIR/H/chunk-1, ...
//
// written to DIR/H.tmp and renamed into place once complete, so a crash
// leaves no half snapshot on offer.
//
// A restoring node accepts an offer only when the metadata's app hash is
// the one CometBFT's light client verified, checks each chunk's hash before
// using it (a bad chunk is fetched again from another peer), imports the
// nodes into a scratch database beside the state (DBDIR/restore.db), and
// compares the restored root with the app hash once more before it swaps
// the scratch database in as DBDIR/state.db and answers that the snapshot
// applied.
//
// The chunk hashes only prove that the chunks are the ones the metadata
// names; a hostile peer can offer metadata with the genuine app hash of a
// real height and its own chunks. So the import checks the tree's shape as
// it goes (importGuard: every inner node joins two lower subtrees, the
// unjoined subtrees never pile up past what a balanced tree of the most
// nodes the metadata can carry would hold), and every failure such a
// snapshot can cause is answered REJECT_SNAPSHOT (CometBFT then tries
// another snapshot) rather than ABORT (CometBFT gives up state sync). The
// real state is never written before the app-hash check: a refused or
// interrupted import leaves only the scratch database, which is deleted on
// refusal and when the app starts.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cosmos/iavl"
	iavldb "github.com/cosmos/iavl/db"
)

// SnapshotFormat is the only snapshot format this app makes and restores.
const SnapshotFormat = 1

// snapshotChunkSize is the size past which a chunk is closed (CometBFT's
// p2p messages carry up to 16 MiB).
const snapshotChunkSize = 2 << 20

// maxSnapshotChunks bounds the chunks a metadata record may name.
const maxSnapshotChunks = 1 << 16

// maxSnapshotChunkBytes bounds a chunk restored (CometBFT's p2p limit; ours
// are snapshotChunkSize plus at most one node).
const maxSnapshotChunkBytes = 16 << 20

// minExportNodeBytes is the shortest encoded node: key length, value
// length, version and height, one byte each.
const minExportNodeBytes = 4

// maxImportStackBytes bounds the keys and values of the subtrees an import
// holds in memory awaiting their parents; an honest tree holds one path's
// worth (tens of nodes of state records).
const maxImportStackBytes = 256 << 20

const snapshotMagic = "IDLSNAP1"

// SnapshotOptions configure state-sync snapshots.
type SnapshotOptions struct {
	// Dir holds the snapshots; "" turns snapshots off (none taken, none
	// offered; restoring still works).
	Dir string
	// Interval: take a snapshot every this many heights; 0 takes none.
	Interval int64
	// KeepRecent is how many snapshots to keep (default 2).
	KeepRecent int
}

// snapshotMeta is a snapshot's metadata record.
type snapshotMeta struct {
	Height  uint64
	AppHash []byte
	Chunks  [][32]byte
}

// encodeSnapshotMeta: magic, height (8 bytes big-endian), app hash length
// (1 byte) and bytes, chunk count (4 bytes big-endian), 32 bytes per chunk.
func encodeSnapshotMeta(m *snapshotMeta) []byte {
	b := make([]byte, 0, len(snapshotMagic)+8+1+len(m.AppHash)+4+32*len(m.Chunks))
	b = append(b, snapshotMagic...)
	b = binary.BigEndian.AppendUint64(b, m.Height)
	b = append(b, byte(len(m.AppHash)))
	b = append(b, m.AppHash...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Chunks)))
	for _, h := range m.Chunks {
		b = append(b, h[:]...)
	}
	return b
}

var errSnapshotMeta = errors.New("app: snapshot metadata")

// decodeSnapshotMeta parses a metadata record strictly.
func decodeSnapshotMeta(b []byte) (*snapshotMeta, error) {
	if !bytes.HasPrefix(b, []byte(snapshotMagic)) {
		return nil, fmt.Errorf("%w: not format %d", errSnapshotMeta, SnapshotFormat)
	}
	b = b[len(snapshotMagic):]
	if len(b) < 9 {
		return nil, fmt.Errorf("%w: truncated", errSnapshotMeta)
	}
	m := &snapshotMeta{Height: binary.BigEndian.Uint64(b)}
	n := int(b[8])
	b = b[9:]
	if n != sha256.Size || len(b) < n+4 {
		return nil, fmt.Errorf("%w: want a %d-byte app hash", errSnapshotMeta, sha256.Size)
	}
	m.AppHash = slices.Clone(b[:n])
	b = b[n:]
	count := binary.BigEndian.Uint32(b)
	b = b[4:]
	if count == 0 || count > maxSnapshotChunks {
		return nil, fmt.Errorf("%w: %d chunks: want 1 to %d", errSnapshotMeta, count, maxSnapshotChunks)
	}
	if uint64(len(b)) != 32*uint64(count) {
		return nil, fmt.Errorf("%w: %d bytes of chunk hashes for %d chunks", errSnapshotMeta, len(b), count)
	}
	if m.Height == 0 || m.Height > 1<<62 {
		return nil, fmt.Errorf("%w: height %d", errSnapshotMeta, m.Height)
	}
	m.Chunks = make([][32]byte, count)
	for i := range m.Chunks {
		copy(m.Chunks[i][:], b[32*i:])
	}
	return m, nil
}

// appendExportNode encodes one exported node: key (uvarint length, bytes),
// value (uvarint length+1, bytes; 0 for an inner node's nil value), version
// (uvarint) and subtree height (1 byte).
func appendExportNode(b []byte, n *iavl.ExportNode) []byte {
	b = binary.AppendUvarint(b, uint64(len(n.Key)))
	b = append(b, n.Key...)
	if n.Value == nil {
		b = binary.AppendUvarint(b, 0)
	} else {
		b = binary.AppendUvarint(b, uint64(len(n.Value))+1)
		b = append(b, n.Value...)
	}
	b = binary.AppendUvarint(b, uint64(n.Version))
	return append(b, byte(n.Height))
}

var errSnapshotChunk = errors.New("app: snapshot chunk")

// decodeSnapshotChunk parses a chunk into exported nodes, refusing
// truncation, oversize lengths and impossible versions or heights.
func decodeSnapshotChunk(b []byte) ([]*iavl.ExportNode, error) {
	var out []*iavl.ExportNode
	err := eachSnapshotNode(b, func(n *iavl.ExportNode) error {
		out = append(out, n)
		return nil
	})
	return out, err
}

// eachSnapshotNode decodes a chunk node by node and hands each to fn (so a
// chunk of millions of tiny nodes is never held decoded at once), stopping
// at fn's first error.
func eachSnapshotNode(b []byte, fn func(*iavl.ExportNode) error) error {
	bytesOf := func(n uint64) ([]byte, bool) {
		if n > uint64(len(b)) {
			return nil, false
		}
		v := slices.Clone(b[:n])
		b = b[n:]
		return v, true
	}
	uvarint := func() (uint64, bool) {
		v, k := binary.Uvarint(b)
		if k <= 0 || k != len(binary.AppendUvarint(nil, v)) { // only the shortest encoding
			return 0, false
		}
		b = b[k:]
		return v, true
	}
	if len(b) == 0 {
		return fmt.Errorf("%w: empty", errSnapshotChunk)
	}
	for i := 0; len(b) > 0; i++ {
		bad := func(what string) error { return fmt.Errorf("%w: node %d: %s", errSnapshotChunk, i, what) }
		kl, ok := uvarint()
		if !ok {
			return bad("bad key length")
		}
		key, ok := bytesOf(kl)
		if !ok {
			return bad("truncated key")
		}
		vl, ok := uvarint()
		if !ok {
			return bad("bad value length")
		}
		var value []byte
		if vl > 0 {
			if value, ok = bytesOf(vl - 1); !ok {
				return bad("truncated value")
			}
		}
		ver, ok := uvarint()
		if !ok || ver == 0 || ver > 1<<62 {
			return bad("bad version")
		}
		if len(b) < 1 {
			return bad("truncated height")
		}
		h := int8(b[0])
		b = b[1:]
		if h < 0 || (h == 0) != (value != nil) {
			return bad("a leaf carries a value and an inner node none")
		}
		if err := fn(&iavl.ExportNode{Key: key, Value: value, Version: int64(ver), Height: h}); err != nil {
			return err
		}
	}
	return nil
}

var errSnapshotTree = errors.New("app: snapshot tree")

// importGuard follows the shape of the tree being imported, node by node in
// the exporter's post-order, and refuses a node before iavl's Importer
// would take it into a shape that cannot become one tree or would grow
// without bound: the Importer keeps every subtree not yet joined to a
// parent on a stack in memory, and files an inner node that finds no two
// lower subtrees there as one more subtree.
type importGuard struct {
	stack    []guardEntry // subtrees awaiting a parent, as iavl's stack
	bytes    int          // keys and values on the stack
	nodes    uint64
	maxNodes uint64
	maxDepth int
	maxBytes int
	peak     int // the deepest the stack has been
}

type guardEntry struct {
	height int8
	bytes  int
}

// newImportGuard bounds an import of chunks chunks: at most
// chunks*maxSnapshotChunkBytes/minExportNodeBytes nodes, and a stack no
// deeper than a balanced tree of that many nodes needs (an AVL tree of n
// nodes is at most 1.44*log2(n) high, and the stack holds at most one
// subtree per level plus the one just finished) with some slack.
func newImportGuard(chunks int) *importGuard {
	maxNodes := uint64(chunks) * (maxSnapshotChunkBytes / minExportNodeBytes)
	return &importGuard{maxNodes: maxNodes, maxDepth: 2*bits.Len64(maxNodes) + 8, maxBytes: maxImportStackBytes}
}

// add checks n and records it; nil means the Importer may take it.
func (g *importGuard) add(n *iavl.ExportNode) error {
	g.nodes++
	if g.nodes > g.maxNodes {
		return fmt.Errorf("%w: more than the %d nodes its chunks can hold", errSnapshotTree, g.maxNodes)
	}
	e := guardEntry{height: n.Height, bytes: len(n.Key) + len(n.Value)}
	if n.Height > 0 {
		k := len(g.stack)
		if k < 2 {
			return fmt.Errorf("%w: node %d: an inner node without two subtrees below it", errSnapshotTree, g.nodes)
		}
		l, r := g.stack[k-2], g.stack[k-1]
		if l.height >= n.Height || r.height >= n.Height || n.Height != max(l.height, r.height)+1 {
			return fmt.Errorf("%w: node %d: an inner node of height %d over subtrees of heights %d and %d",
				errSnapshotTree, g.nodes, n.Height, l.height, r.height)
		}
		g.stack = g.stack[:k-2]
		g.bytes -= l.bytes + r.bytes
	}
	if len(g.stack)+1 > g.maxDepth {
		return fmt.Errorf("%w: node %d: more than %d subtrees awaiting a parent", errSnapshotTree, g.nodes, g.maxDepth)
	}
	if g.bytes+e.bytes > g.maxBytes {
		return fmt.Errorf("%w: node %d: more than %d bytes of keys and values awaiting a parent", errSnapshotTree, g.nodes, g.maxBytes)
	}
	g.stack = append(g.stack, e)
	g.bytes += e.bytes
	g.peak = max(g.peak, len(g.stack))
	return nil
}

// done checks that the nodes added make one tree.
func (g *importGuard) done() error {
	if len(g.stack) != 1 {
		return fmt.Errorf("%w: %d subtrees at the end, want one tree", errSnapshotTree, len(g.stack))
	}
	return nil
}

// snapshotter takes, keeps and serves snapshots, and restores one.
type snapshotter struct {
	opts SnapshotOptions
	log  log.Logger

	mu      sync.Mutex
	running int64 // height of the snapshot being taken, 0 if none
	heights []int64
	wg      sync.WaitGroup

	// restore is the snapshot being restored (under App.mu).
	restore *restoreState
	// lastGuard is the shape check of the latest restore (tests).
	lastGuard *importGuard
}

type restoreState struct {
	meta     *snapshotMeta
	db       *iavldb.GoLevelDB // the scratch database
	tree     *iavl.MutableTree // on db
	importer *iavl.Importer
	guard    *importGuard
	next     uint32
}

// restoreScratch is the name of the scratch database a snapshot is
// imported into (DBDIR/restore.db); stateRetired is where the empty state
// database goes while the restored one takes its place.
const (
	restoreScratch = "restore"
	stateRetired   = "state.db.old"
)

// removeRestoreScratch deletes what an interrupted snapshot restore left in
// the state directory dir: the scratch database, and the empty state
// database a crash mid-swap left retired. New calls it before it opens the
// state; the state itself is never touched.
func removeRestoreScratch(dir string) error {
	for _, name := range []string{restoreScratch + ".db", stateRetired} {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("app: remove an interrupted restore: %w", err)
		}
	}
	return nil
}

// closeRestore ends a restore in progress, closing its scratch database;
// with discard it also deletes it. Called under App.mu.
func (a *App) closeRestore(discard bool) {
	r := a.snaps.restore
	if r == nil {
		return
	}
	a.snaps.restore = nil
	r.importer.Close()
	r.db.Close()
	if discard {
		if err := os.RemoveAll(filepath.Join(a.opts.DBDir, restoreScratch+".db")); err != nil {
			a.log.Error("removing the scratch database of a restore", "err", err)
		}
	}
}

// swapInRestored makes the scratch database of a finished, checked restore
// the state: it closes both, moves the (empty) state database aside,
// renames the scratch database into its place and reopens it. A crash at
// any point leaves a state directory New opens: either the empty state or
// the restored one, plus scratch that New deletes.
func (a *App) swapInRestored(r *restoreState) error {
	dir := a.opts.DBDir
	state := filepath.Join(dir, "state.db")
	r.db.Close()
	if err := a.db.Close(); err != nil {
		return fmt.Errorf("app: close the empty state: %w", err)
	}
	err := os.RemoveAll(filepath.Join(dir, stateRetired))
	if err == nil {
		err = os.Rename(state, filepath.Join(dir, stateRetired))
	}
	if err == nil {
		err = os.Rename(filepath.Join(dir, restoreScratch+".db"), state)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err == nil {
		err = os.RemoveAll(filepath.Join(dir, stateRetired))
	}
	db, tree, oerr := openStateTree(dir, "state", a.opts)
	if oerr != nil {
		return fmt.Errorf("app: reopen the state after a restore: %w", oerr)
	}
	a.db, a.tree = db, tree
	if err != nil {
		return fmt.Errorf("app: swap in the restored state: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func newSnapshotter(opts SnapshotOptions, logger log.Logger) *snapshotter {
	if opts.KeepRecent <= 0 {
		opts.KeepRecent = 2
	}
	s := &snapshotter{opts: opts, log: logger}
	if opts.Dir == "" {
		return s
	}
	entries, _ := os.ReadDir(opts.Dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			os.RemoveAll(filepath.Join(opts.Dir, e.Name())) // an interrupted snapshot
			continue
		}
		if h, err := strconv.ParseInt(e.Name(), 10, 64); err == nil && h > 0 && e.IsDir() {
			s.heights = append(s.heights, h)
		}
	}
	slices.Sort(s.heights)
	return s
}

func (s *snapshotter) enabled() bool { return s.opts.Dir != "" && s.opts.Interval > 0 }

// retainFloor lowers a retain height so that blocks are never pruned below
// the oldest snapshot kept or being taken (a joining node needs the blocks
// from a snapshot's height on).
func (s *snapshotter) retainFloor(height, retain int64) int64 {
	if retain <= 0 || !s.enabled() {
		return retain
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	floor := int64(0)
	lower := func(h int64) {
		if h > 0 && (floor == 0 || h < floor) {
			floor = h
		}
	}
	if len(s.heights) > 0 {
		lower(s.heights[0])
	}
	lower(s.running)
	if height%s.opts.Interval == 0 {
		lower(height) // Commit is about to take it
	}
	if floor > 0 && floor < retain {
		return floor
	}
	return retain
}

// maybeSnapshot starts a snapshot of version v in the background when v is
// due and none is being taken. Called by Commit (under App.mu) with the
// version just saved.
func (a *App) maybeSnapshot(v int64) {
	s := a.snaps
	if !s.enabled() || v%s.opts.Interval != 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running != 0 {
		s.log.Info("skipping a snapshot: the previous one is still being taken", "height", v)
		return
	}
	imm, err := a.tree.GetImmutable(v)
	if err != nil {
		s.log.Error("snapshot", "height", v, "err", err)
		return
	}
	s.running = v
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := s.take(imm)
		s.mu.Lock()
		s.running = 0
		if err == nil {
			s.heights = append(s.heights, v)
		}
		var drop []int64
		if len(s.heights) > s.opts.KeepRecent {
			drop = slices.Clone(s.heights[:len(s.heights)-s.opts.KeepRecent])
			s.heights = s.heights[len(s.heights)-s.opts.KeepRecent:]
		}
		s.mu.Unlock()
		if err != nil {
			s.log.Error("snapshot failed", "height", v, "err", err)
			return
		}
		s.log.Info("snapshot taken", "height", v)
		for _, h := range drop {
			os.RemoveAll(filepath.Join(s.opts.Dir, strconv.FormatInt(h, 10)))
		}
	}()
}

// take exports imm into DIR/H.tmp and renames it to DIR/H.
func (s *snapshotter) take(imm *iavl.ImmutableTree) error {
	h := imm.Version()
	final := filepath.Join(s.opts.Dir, strconv.FormatInt(h, 10))
	tmp := final + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	ex, err := imm.Export()
	if err != nil {
		return err
	}
	defer ex.Close()
	meta := &snapshotMeta{Height: uint64(h), AppHash: imm.Hash()}
	var chunk []byte
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		name := filepath.Join(tmp, "chunk-"+strconv.Itoa(len(meta.Chunks)))
		if err := writeSynced(name, chunk); err != nil {
			return err
		}
		meta.Chunks = append(meta.Chunks, sha256.Sum256(chunk))
		chunk = chunk[:0]
		return nil
	}
	for {
		n, err := ex.Next()
		if errors.Is(err, iavl.ErrorExportDone) {
			break
		}
		if err != nil {
			return err
		}
		chunk = appendExportNode(chunk, n)
		if len(chunk) >= snapshotChunkSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if len(meta.Chunks) == 0 {
		return errors.New("app: snapshot of an empty tree")
	}
	if err := writeSynced(filepath.Join(tmp, "metadata"), encodeSnapshotMeta(meta)); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	if d, err := os.Open(s.opts.Dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	ok = true
	return nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// wait waits for a snapshot being taken (Close, tests).
func (s *snapshotter) wait() { s.wg.Wait() }

// ListSnapshots offers the snapshots kept.
func (a *App) ListSnapshots(context.Context, *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error) {
	s := a.snaps
	res := &abci.ResponseListSnapshots{}
	if s.opts.Dir == "" {
		return res, nil
	}
	s.mu.Lock()
	heights := slices.Clone(s.heights)
	s.mu.Unlock()
	for _, h := range heights {
		raw, err := os.ReadFile(filepath.Join(s.opts.Dir, strconv.FormatInt(h, 10), "metadata"))
		if err != nil {
			continue // pruned meanwhile
		}
		m, err := decodeSnapshotMeta(raw)
		if err != nil {
			s.log.Error("snapshot metadata", "height", h, "err", err)
			continue
		}
		sum := sha256.Sum256(raw)
		res.Snapshots = append(res.Snapshots, &abci.Snapshot{Height: m.Height, Format: SnapshotFormat,
			Chunks: uint32(len(m.Chunks)), Hash: sum[:], Metadata: raw})
	}
	return res, nil
}

// LoadSnapshotChunk serves one chunk of a snapshot kept (nothing if it is
// gone).
func (a *App) LoadSnapshotChunk(_ context.Context, req *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error) {
	s := a.snaps
	if s.opts.Dir == "" || req.Format != SnapshotFormat {
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	b, err := os.ReadFile(filepath.Join(s.opts.Dir, strconv.FormatUint(req.Height, 10), "chunk-"+strconv.FormatUint(uint64(req.Chunk), 10)))
	if err != nil {
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	return &abci.ResponseLoadSnapshotChunk{Chunk: b}, nil
}

// OfferSnapshot accepts a snapshot to restore when this node's state is
// empty, the snapshot is in this app's format, and its metadata matches the
// snapshot's hash and carries the app hash CometBFT's light client verified
// (req.AppHash).
func (a *App) OfferSnapshot(_ context.Context, req *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	reply := func(r abci.ResponseOfferSnapshot_Result) (*abci.ResponseOfferSnapshot, error) {
		return &abci.ResponseOfferSnapshot{Result: r}, nil
	}
	snap := req.Snapshot
	if snap == nil {
		return reply(abci.ResponseOfferSnapshot_REJECT)
	}
	if snap.Format != SnapshotFormat {
		return reply(abci.ResponseOfferSnapshot_REJECT_FORMAT)
	}
	m, err := decodeSnapshotMeta(snap.Metadata)
	sum := sha256.Sum256(snap.Metadata)
	switch {
	case err != nil:
		a.log.Error("refusing a snapshot", "height", snap.Height, "err", err)
		return reply(abci.ResponseOfferSnapshot_REJECT_SENDER)
	case !bytes.Equal(sum[:], snap.Hash) || m.Height != snap.Height || uint32(len(m.Chunks)) != snap.Chunks:
		a.log.Error("refusing a snapshot: its metadata does not match its hash, height or chunk count", "height", snap.Height)
		return reply(abci.ResponseOfferSnapshot_REJECT_SENDER)
	case !bytes.Equal(m.AppHash, req.AppHash):
		a.log.Error("refusing a snapshot: its app hash is not the verified one", "height", snap.Height,
			"snapshot_app_hash", fmt.Sprintf("%X", m.AppHash), "verified_app_hash", fmt.Sprintf("%X", req.AppHash))
		return reply(abci.ResponseOfferSnapshot_REJECT)
	case a.committed != nil || a.tree.Version() != 0:
		a.log.Error("refusing a snapshot: this node already has state", "version", a.tree.Version())
		return reply(abci.ResponseOfferSnapshot_ABORT)
	}
	a.closeRestore(true)
	r, err := a.startRestore(m)
	if err != nil {
		a.log.Error("starting a snapshot import", "height", m.Height, "err", err)
		return reply(abci.ResponseOfferSnapshot_ABORT)
	}
	a.snaps.restore = r
	a.log.Info("restoring a snapshot", "height", m.Height, "chunks", len(m.Chunks))
	return reply(abci.ResponseOfferSnapshot_ACCEPT)
}

// startRestore opens a fresh scratch database and starts importing m into
// it.
func (a *App) startRestore(m *snapshotMeta) (*restoreState, error) {
	if err := os.RemoveAll(filepath.Join(a.opts.DBDir, restoreScratch+".db")); err != nil {
		return nil, err
	}
	db, tree, err := openStateTree(a.opts.DBDir, restoreScratch, a.opts)
	if err != nil {
		return nil, err
	}
	imp, err := tree.Import(int64(m.Height))
	if err != nil {
		db.Close()
		return nil, err
	}
	g := newImportGuard(len(m.Chunks))
	a.snaps.lastGuard = g
	return &restoreState{meta: m, db: db, tree: tree, importer: imp, guard: g}, nil
}

// ApplySnapshotChunk checks a chunk's hash, checks and imports its nodes
// into the scratch database, and after the last one checks the restored
// root against the verified app hash and swaps the restored state in.
func (a *App) ApplySnapshotChunk(_ context.Context, req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	reply := func(r abci.ResponseApplySnapshotChunk_Result) (*abci.ResponseApplySnapshotChunk, error) {
		return &abci.ResponseApplySnapshotChunk{Result: r}, nil
	}
	r := a.snaps.restore
	if r == nil {
		return reply(abci.ResponseApplySnapshotChunk_ABORT)
	}
	if req.Index != r.next || int(req.Index) >= len(r.meta.Chunks) {
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_RETRY, RefetchChunks: []uint32{r.next}}, nil
	}
	if sha256.Sum256(req.Chunk) != r.meta.Chunks[req.Index] {
		a.log.Error("snapshot chunk with a wrong hash; fetching it again", "index", req.Index, "sender", req.Sender)
		res := &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_RETRY, RefetchChunks: []uint32{req.Index}}
		if req.Sender != "" {
			res.RejectSenders = []string{req.Sender}
		}
		return res, nil
	}
	// From here on the chunk is the one the snapshot's metadata names, so
	// whatever is wrong with it is the snapshot's fault (and its senders'):
	// refuse the snapshot, so that CometBFT tries another, and the peers
	// that served it.
	reject := func(err error) (*abci.ResponseApplySnapshotChunk, error) {
		a.log.Error("refusing the snapshot: it does not restore", "height", r.meta.Height, "chunk", req.Index, "sender", req.Sender, "err", err)
		a.closeRestore(true)
		res := &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT}
		if req.Sender != "" {
			res.RejectSenders = []string{req.Sender}
		}
		return res, nil
	}
	if len(req.Chunk) > maxSnapshotChunkBytes {
		return reject(fmt.Errorf("%w: %d bytes, more than %d", errSnapshotChunk, len(req.Chunk), maxSnapshotChunkBytes))
	}
	err := eachSnapshotNode(req.Chunk, func(n *iavl.ExportNode) error {
		if n.Version > int64(r.meta.Height) {
			return fmt.Errorf("%w: a node of version %d in a snapshot of height %d", errSnapshotTree, n.Version, r.meta.Height)
		}
		if err := r.guard.add(n); err != nil {
			return err
		}
		return r.importer.Add(n)
	})
	if err != nil {
		return reject(err)
	}
	r.next++
	if int(r.next) < len(r.meta.Chunks) {
		return reply(abci.ResponseApplySnapshotChunk_ACCEPT)
	}
	if err := r.guard.done(); err != nil {
		return reject(err)
	}
	if err := r.importer.Commit(); err != nil {
		return reject(fmt.Errorf("%w: %v", errSnapshotTree, err))
	}
	if got := r.tree.Hash(); !bytes.Equal(got, r.meta.AppHash) {
		return reject(fmt.Errorf("%w: the restored state's root is %X, not the verified app hash %X", errSnapshotTree, got, r.meta.AppHash))
	}
	a.snaps.restore = nil
	if err := a.swapInRestored(r); err != nil {
		a.log.Error("installing the restored state", "height", r.meta.Height, "err", err)
		return reply(abci.ResponseApplySnapshotChunk_ABORT)
	}
	if err := a.loadCommitted(); err != nil {
		a.log.Error("loading the restored state", "err", err)
		return reply(abci.ResponseApplySnapshotChunk_ABORT)
	}
	a.log.Info("snapshot restored", "height", r.meta.Height, "app_hash", fmt.Sprintf("%X", r.meta.AppHash))
	return reply(abci.ResponseApplySnapshotChunk_ACCEPT)
}
