package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
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

// ChangeTracker is a Store that records the status keys written through it
// (see IsStatusKey). Wrap the block's store with it for the whole block and
// call Commit once at its end.
type ChangeTracker struct {
	Store
	keys [][]byte
}

// TrackChanges wraps st.
func TrackChanges(st Store) *ChangeTracker { return &ChangeTracker{Store: st} }

func (t *ChangeTracker) Set(key, value []byte) {
	t.note(key)
	t.Store.Set(key, value)
}

func (t *ChangeTracker) Delete(key []byte) {
	t.note(key)
	t.Store.Delete(key)
}

func (t *ChangeTracker) note(key []byte) {
	if IsStatusKey(key) {
		t.keys = append(t.keys, bytes.Clone(key))
	}
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
