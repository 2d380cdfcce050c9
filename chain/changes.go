package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/idledger/idledger/chain/chainpb"
)

// prefixChanges is the one key that holds the status keys the last block
// changed (see ChangesKey). Prefixes 0x10-0x13 are the verifier feed's.
const prefixChanges = 0x10

// ChangesKey is the key that every block overwrites, at its end, with the
// sorted list of the status keys it wrote (ClaimStatus, SubjectRevocation
// and the trust anchor set) and its height. Its value at state version H is
// therefore the complete set of status changes of block H, provable against
// the app hash of header H+1: a verifier that holds a proof for it knows
// which records it must see proven before it may say it knows block H.
func ChangesKey() []byte { return []byte{prefixChanges} }

// Limits of a change list.
const (
	// MaxChangedKeys bounds the keys of one block's change list.
	MaxChangedKeys = 100_000
	// MaxChangedKeyLen bounds one key of a change list.
	MaxChangedKeyLen = 1 + 32 + 256
	// changesVersion is the encoding's first byte.
	changesVersion = 1
)

// IsStatusKey says whether key is one whose changes a block lists: a
// ClaimStatus (0x05), a SubjectRevocation (0x06) or the trust anchor set.
func IsStatusKey(key []byte) bool {
	if len(key) == 0 {
		return false
	}
	switch key[0] {
	case prefixClaim, prefixSubjectRevok:
		return len(key) > 1
	case prefixAnchors:
		return len(key) == 1
	}
	return false
}

// BlockChanges is a decoded change list: the block's height and the status
// keys it wrote, sorted and without duplicates.
type BlockChanges struct {
	Height int64
	Keys   [][]byte
}

// EncodeChanges encodes a change list: a version byte, the height and the
// key count as uvarints, then each key as a uvarint length and its bytes.
// keys must be sorted and distinct (ChangeTracker gives them so).
func EncodeChanges(height int64, keys [][]byte) []byte {
	n := 1 + 2*binary.MaxVarintLen64
	for _, k := range keys {
		n += binary.MaxVarintLen64 + len(k)
	}
	b := make([]byte, 0, n)
	b = append(b, changesVersion)
	b = binary.AppendUvarint(b, uint64(height))
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
	}
	return b
}

// DecodeChanges decodes a change list and checks it is canonical: known
// version, positive height, at most MaxChangedKeys keys, each a status key
// of at most MaxChangedKeyLen bytes, in strictly increasing order, the
// shortest uvarints and no trailing bytes. Re-encoding the result gives b.
func DecodeChanges(b []byte) (*BlockChanges, error) {
	if len(b) == 0 || b[0] != changesVersion {
		return nil, errors.New("chain: change list: unknown encoding")
	}
	r := b[1:]
	next := func(what string) (uint64, error) {
		v, n := binary.Uvarint(r)
		if n <= 0 {
			return 0, fmt.Errorf("chain: change list: bad %s", what)
		}
		if n != uvarintLen(v) {
			return 0, fmt.Errorf("chain: change list: %s is not minimally encoded", what)
		}
		r = r[n:]
		return v, nil
	}
	h, err := next("height")
	if err != nil {
		return nil, err
	}
	if h == 0 || h > 1<<62 {
		return nil, fmt.Errorf("chain: change list: height %d", h)
	}
	count, err := next("key count")
	if err != nil {
		return nil, err
	}
	if count > MaxChangedKeys || count > uint64(len(r)) {
		return nil, fmt.Errorf("chain: change list: %d keys, over the limit", count)
	}
	out := &BlockChanges{Height: int64(h), Keys: make([][]byte, 0, count)}
	for i := uint64(0); i < count; i++ {
		l, err := next("key length")
		if err != nil {
			return nil, err
		}
		if l == 0 || l > MaxChangedKeyLen || l > uint64(len(r)) {
			return nil, fmt.Errorf("chain: change list: key %d has a bad length", i)
		}
		k := r[:l:l]
		r = r[l:]
		if !IsStatusKey(k) {
			return nil, fmt.Errorf("chain: change list: key %d (%x) is not a status key", i, k)
		}
		if i > 0 && bytes.Compare(out.Keys[i-1], k) >= 0 {
			return nil, fmt.Errorf("chain: change list: keys are not in increasing order at %d", i)
		}
		out.Keys = append(out.Keys, bytes.Clone(k))
	}
	if len(r) != 0 {
		return nil, errors.New("chain: change list: trailing bytes")
	}
	return out, nil
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// Limits of the write side: what one block may change. They keep every
// block's feed update well inside the read side's limits (feed.MaxUpdateSize
// 8 MiB for the update, feed.MaxEntryValue 64 KiB for its change-list
// entry), so every publisher can encode every block and every verifier can
// pass it. The arithmetic (docs/verifier.md, "What one block may change"):
// an update carries one entry per changed key: key, value and IAVL proof. A
// proof is the leaf (~80 bytes plus the key) and one inner node per level
// (~50 bytes); at depth 40 (an AVL tree of 10^7 keys is at most 34 deep, of
// 10^8 at most 38), under 2.1 KiB. A
// status value (ClaimStatus, SubjectRevocation) is under 0.5 KiB. So an
// entry costs at most 2.6 KiB plus twice its key (entry and leaf), and an
// update at most 2,500 x 2.6 KiB = 6.35 MiB, plus 3 x 60 KiB for the keys
// (change list, entry keys, proof leaves), plus 0.5 MiB for the signed
// header, commit and validator set of 150 validators and the anchor set:
// about 7 MiB, under 8 MiB with margin.
const (
	// MaxBlockStatusChanges bounds the distinct status keys one block writes.
	MaxBlockStatusChanges = 2_500
	// MaxBlockChangesBytes bounds the encoded change list of one block
	// (under feed.MaxEntryValue, 64 KiB, with room for the entry's framing).
	MaxBlockChangesBytes = 60 << 10
)

// ChangeTracker is a Store that records the status keys written through it
// (see IsStatusKey). Wrap the block's store with it for the whole block and
// call Commit once at its end. Run the block's transactions through Deliver
// to hold the block to MaxBlockStatusChanges and MaxBlockChangesBytes.
type ChangeTracker struct {
	Store
	keys [][]byte

	// The block's distinct status keys and the size of their encoded
	// change list so far (lookups only: nothing iterates seen).
	seen      map[string]bool
	listBytes int

	// Within Deliver: the undo log of the transaction's writes and the
	// status keys it was first to write.
	inTx  bool
	undo  []undoWrite
	fresh []string
}

type undoWrite struct {
	key, old []byte
	existed  bool
}

// TrackChanges wraps st.
func TrackChanges(st Store) *ChangeTracker {
	return &ChangeTracker{Store: st, seen: map[string]bool{}, listBytes: changesHeaderBytes}
}

// changesHeaderBytes bounds the encoded change list's version, height and
// count.
const changesHeaderBytes = 1 + 2*binary.MaxVarintLen64

func (t *ChangeTracker) Set(key, value []byte) {
	t.before(key)
	t.Store.Set(key, value)
}

func (t *ChangeTracker) Delete(key []byte) {
	t.before(key)
	t.Store.Delete(key)
}

func (t *ChangeTracker) before(key []byte) {
	if t.inTx {
		old := t.Store.Get(key)
		t.undo = append(t.undo, undoWrite{key: bytes.Clone(key), old: bytes.Clone(old), existed: old != nil})
	}
	if !IsStatusKey(key) {
		return
	}
	t.keys = append(t.keys, bytes.Clone(key))
	if !t.seen[string(key)] {
		t.seen[string(key)] = true
		t.listBytes += uvarintLen(uint64(len(key))) + len(key)
		if t.inTx {
			t.fresh = append(t.fresh, string(key))
		}
	}
}

// Deliver runs tx through m on the tracked store, like m.Deliver, and
// refuses it with CodeBlockChangesFull, having written nothing, when it
// would take the block past MaxBlockStatusChanges status keys or
// MaxBlockChangesBytes of change list. The refusal depends only on the
// block's earlier transactions, so every node decides it alike; a proposer
// leaves such a transaction for a later block (a tracker per transaction,
// as CheckTx uses, refuses one that cannot fit even an empty block).
func (t *ChangeTracker) Deliver(m *Machine, env Env, tx *Tx) (*Result, error) {
	mark := len(t.keys)
	t.inTx, t.undo, t.fresh = true, t.undo[:0], t.fresh[:0]
	res, err := m.Deliver(t, env, tx)
	t.inTx = false
	if err == nil && (len(t.seen) > MaxBlockStatusChanges || t.listBytes > MaxBlockChangesBytes) {
		n, size := len(t.fresh), 0
		for _, k := range t.fresh {
			size += uvarintLen(uint64(len(k))) + len(k)
		}
		before := len(t.seen) - n
		err = refuse(CodeBlockChangesFull,
			"the transaction changes %d more status records (%d bytes of change list); the block has %d of its limit of %d records and %d bytes: it waits for a later block",
			n, size, before, MaxBlockStatusChanges, MaxBlockChangesBytes)
		if before == 0 {
			err = refuse(CodeBlockChangesFull,
				"the transaction changes %d status records (%d bytes of change list), over one block's limit of %d records and %d bytes: split it",
				n, size, MaxBlockStatusChanges, MaxBlockChangesBytes)
		}
	}
	if err != nil {
		t.rollback(mark)
		return nil, err
	}
	return res, nil
}

// rollback undoes the current transaction's writes, newest first, and
// forgets the status keys it listed.
func (t *ChangeTracker) rollback(mark int) {
	for i := len(t.undo) - 1; i >= 0; i-- {
		u := t.undo[i]
		if u.existed {
			t.Store.Set(u.key, u.old)
		} else {
			t.Store.Delete(u.key)
		}
	}
	for _, k := range t.fresh {
		delete(t.seen, k)
		t.listBytes -= uvarintLen(uint64(len(k))) + len(k)
	}
	t.keys = t.keys[:mark]
	t.undo, t.fresh = t.undo[:0], t.fresh[:0]
}

// Changed returns the status keys written so far, sorted and distinct.
func (t *ChangeTracker) Changed() [][]byte {
	keys := slices.Clone(t.keys)
	slices.SortFunc(keys, bytes.Compare)
	return slices.CompactFunc(keys, bytes.Equal)
}

// Commit writes the block's change list under ChangesKey, replacing the
// previous block's: every block writes it, an empty list included, so its
// proof at any version says exactly what that block changed. It returns the
// keys it listed.
func (t *ChangeTracker) Commit(height int64) [][]byte {
	keys := t.Changed()
	t.Store.Set(ChangesKey(), EncodeChanges(height, keys))
	t.keys = nil
	t.seen, t.listBytes = map[string]bool{}, changesHeaderBytes
	return keys
}

// Changes reads the change list stored at st (nil when none was written).
func Changes(st Store) (*BlockChanges, error) {
	b := st.Get(ChangesKey())
	if b == nil {
		return nil, nil
	}
	return DecodeChanges(b)
}

// ChangeCost is at least what a transaction adds to its block's change
// list: status keys and their encoded bytes.
type ChangeCost struct{ Keys, Bytes int }

// StatusChangeCost bounds from above the status keys tx can write in a
// block whose state before it was base (the committed state; nil before
// the first block), without running it: an Attest writes one ClaimStatus,
// a RevokeAttestation one (of at most the longest claim type), a
// RevokeSubjects a SubjectRevocation and every committed ClaimStatus of
// each commitment not revoked in base (a claim attested earlier in the
// block is already charged to its Attest), a proposal or a vote the
// anchor set (the one status key governance writes). Summed over a
// block's transactions it is at least the block's change list, so a
// proposer that keeps the sum within MaxBlockStatusChanges and
// MaxBlockChangesBytes never proposes a transaction that FinalizeBlock
// refuses with CodeBlockChangesFull.
func StatusChangeCost(base Store, tx *Tx) ChangeCost {
	var c ChangeCost
	add := func(keyLen int) {
		c.Keys++
		c.Bytes += uvarintLen(uint64(keyLen)) + keyLen
	}
	switch msg := tx.Body.Msg.(type) {
	case *chainpb.TxBody_Attest:
		add(1 + 32 + len(msg.Attest.ClaimType))
	case *chainpb.TxBody_RevokeAttestation:
		add(1 + 32 + MaxClaimTypeLen)
	case *chainpb.TxBody_RevokeSubjects:
		for _, s := range msg.RevokeSubjects.Commitments {
			if base != nil && GetSubjectRevocation(base, s) != nil {
				continue
			}
			add(len(SubjectRevocationKey(s)))
			if base == nil {
				continue
			}
			p := SubjectClaimsPrefix(s)
			base.Iterate(p, PrefixEnd(p), func(k, _ []byte) bool {
				add(len(k))
				return true
			})
		}
	case *chainpb.TxBody_Propose, *chainpb.TxBody_Vote:
		add(len(AnchorsKey()))
	}
	return c
}

// ChangeBudget is what is left of a block's change-list limits while a
// proposer fills it.
type ChangeBudget struct{ used ChangeCost }

// NewChangeBudget is an empty block's.
func NewChangeBudget() *ChangeBudget {
	return &ChangeBudget{used: ChangeCost{Bytes: changesHeaderBytes}}
}

// Fits says whether c fits in what is left.
func (b *ChangeBudget) Fits(c ChangeCost) bool {
	return b.used.Keys+c.Keys <= MaxBlockStatusChanges && b.used.Bytes+c.Bytes <= MaxBlockChangesBytes
}

// Add charges c.
func (b *ChangeBudget) Add(c ChangeCost) {
	b.used.Keys += c.Keys
	b.used.Bytes += c.Bytes
}
