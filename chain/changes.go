package chain

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/jpki"
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
// block's feed update inside the read side's limits (feed.MaxUpdateSize,
// 8 MiB, for the update; feed.MaxEntryValue, 64 KiB, for its change-list
// entry), so every publisher can encode every block and every verifier can
// pass it. The arithmetic (docs/verifier.md, "What one block may change"):
// an update carries one entry per changed key: key, value and IAVL proof.
// A proof is its leaf (~80 bytes plus the key) and one inner node (~50
// bytes) per tree level; 40 levels (an AVL tree of 10^7 keys is at most 34
// deep, of 10^8 at most 38) stay under EntryProofAllowance. A block is
// charged, per changed status key, EntryProofAllowance plus twice the key
// (entry and leaf) plus its value as the block leaves it, and the charges
// may add up to MaxBlockUpdateBytes, 7 MiB; the remaining 1 MiB holds the
// signed header, commit and validator set (about 35 KiB for 150
// validators), the change list (at most MaxBlockChangesBytes) and the
// anchor set with its proof (at most 64 KiB plus a proof; not charged).
const (
	// MaxBlockStatusChanges bounds the distinct status keys one block writes.
	MaxBlockStatusChanges = 2_500
	// MaxBlockChangesBytes bounds the encoded change list of one block
	// (under feed.MaxEntryValue, 64 KiB, with room for the entry's framing);
	// with 33-36-byte keys it allows about 1,700 keys.
	MaxBlockChangesBytes = 60 << 10
	// MaxBlockUpdateBytes bounds the sum of the block's entry charges.
	MaxBlockUpdateBytes = 7 << 20
	// EntryProofAllowance is what an entry's proof and framing are charged.
	EntryProofAllowance = 2_300
)

// entryCharge is what the update's entry for key, with a value of
// valueLen bytes, is charged; the anchor set is in the reserve.
func entryCharge(key []byte, valueLen int) int {
	if len(key) == 1 && key[0] == prefixAnchors {
		return 0
	}
	return EntryProofAllowance + 2*len(key) + valueLen
}

// ChangeTracker is a Store that records the status keys written through it
// (see IsStatusKey). Wrap the block's store with it for the whole block and
// call Commit once at its end. Run the block's transactions through Deliver
// to hold the block to MaxBlockStatusChanges, MaxBlockChangesBytes and
// MaxBlockUpdateBytes.
type ChangeTracker struct {
	Store
	keys [][]byte

	// The block's distinct status keys with each one's entry charge, the
	// size of their encoded change list and the charges' sum (lookups
	// only: nothing iterates seen).
	seen        map[string]int
	listBytes   int
	updateBytes int

	// Within Deliver: the transaction's writes, held back until it is
	// accepted (then replayed on the store in their order, so the tree is
	// what writing them directly makes) or, when refused after it ran,
	// written and undone as releases before did (pendingWrites.writeAndUndo:
	// the app hash sees the undone writes); and the
	// status keys it wrote with their charges before it (-1: new).
	inTx       bool
	pending    pendingWrites
	touched    []string
	prev       []int
	touchedSet map[string]bool
}

// TrackChanges wraps st.
func TrackChanges(st Store) *ChangeTracker {
	return &ChangeTracker{Store: st, seen: map[string]int{}, listBytes: changesHeaderBytes}
}

// changesHeaderBytes bounds the encoded change list's version, height and
// count.
const changesHeaderBytes = 1 + 2*binary.MaxVarintLen64

func (t *ChangeTracker) Set(key, value []byte) {
	if t.inTx {
		t.pending.set(key, bytes.Clone(value))
	} else {
		t.Store.Set(key, value)
	}
	t.after(key, len(value))
}

func (t *ChangeTracker) Delete(key []byte) {
	if t.inTx {
		t.pending.set(key, nil)
	} else {
		t.Store.Delete(key)
	}
	t.after(key, 0)
}

// Get reads the transaction's own writes first.
func (t *ChangeTracker) Get(key []byte) []byte {
	if t.inTx {
		if v, ok := t.pending.get(key); ok {
			return v
		}
	}
	return t.Store.Get(key)
}

// Iterate merges the transaction's own writes into the store's range.
func (t *ChangeTracker) Iterate(start, end []byte, fn func(k, v []byte) bool) {
	if !t.inTx || len(t.pending.last) == 0 {
		t.Store.Iterate(start, end, fn)
		return
	}
	MergeIterate(t.Store, t.pending.last, start, end, fn)
}

// after charges key's entry at its new value's size.
func (t *ChangeTracker) after(key []byte, valueLen int) {
	if !IsStatusKey(key) {
		return
	}
	t.keys = append(t.keys, bytes.Clone(key))
	k := string(key)
	was, ok := t.seen[k]
	if !ok {
		was = -1
		t.listBytes += uvarintLen(uint64(len(key))) + len(key)
	}
	if t.inTx && !t.touchedSet[k] {
		t.touchedSet[k] = true
		t.touched, t.prev = append(t.touched, k), append(t.prev, was)
	}
	charge := entryCharge(key, valueLen)
	t.updateBytes += charge - max(was, 0)
	t.seen[k] = charge
}

func (t *ChangeTracker) full() bool {
	return len(t.seen) > MaxBlockStatusChanges || t.listBytes > MaxBlockChangesBytes || t.updateBytes > MaxBlockUpdateBytes
}

// Deliver runs tx through m on the tracked store, like m.Deliver, and
// refuses it with CodeBlockChangesFull, having written nothing, when it
// would take the block past MaxBlockStatusChanges status keys,
// MaxBlockChangesBytes of change list or MaxBlockUpdateBytes of entry
// charges. The refusal depends only on the block's earlier transactions,
// so every node decides it alike; a proposer leaves such a transaction for
// a later block (see StatusChangeCost), and a tracker per transaction, as
// CheckTx uses, refuses one that cannot fit even an empty block.
func (t *ChangeTracker) Deliver(m *Machine, env Env, tx *Tx) (*Result, error) {
	mark, keys0, list0, update0 := len(t.keys), len(t.seen), t.listBytes, t.updateBytes
	t.inTx, t.touched, t.prev, t.touchedSet = true, t.touched[:0], t.prev[:0], map[string]bool{}
	t.pending.reset()
	res, err := m.Deliver(t, env, tx)
	t.inTx = false
	if err == nil && t.full() {
		n, size, update := len(t.seen)-keys0, t.listBytes-list0, t.updateBytes-update0
		err = refuse(CodeBlockChangesFull,
			"the transaction changes %d more status records (%d bytes of change list, %d of feed update); the block has %d records, %d bytes of change list and %d of feed update, of its limits %d, %d and %d: it waits for a later block",
			n, size, update, keys0, list0, update0, MaxBlockStatusChanges, MaxBlockChangesBytes, MaxBlockUpdateBytes)
		if keys0 == 0 {
			err = refuse(CodeBlockChangesFull,
				"the transaction changes %d status records (%d bytes of change list, %d of feed update), over one block's limits of %d, %d and %d: split it",
				n, size, update, MaxBlockStatusChanges, MaxBlockChangesBytes, MaxBlockUpdateBytes)
		}
	}
	if err != nil {
		t.pending.writeAndUndo(t.Store) // nothing, unless it ran before it was refused
		t.rollback(mark, list0, update0)
		return nil, err
	}
	t.pending.replay(t.Store)
	return res, nil
}

// rollback drops the current transaction's writes and undoes its charges.
func (t *ChangeTracker) rollback(mark, listBytes, updateBytes int) {
	t.pending.reset()
	for i, k := range t.touched {
		if t.prev[i] < 0 {
			delete(t.seen, k)
		} else {
			t.seen[k] = t.prev[i]
		}
	}
	t.keys = t.keys[:mark]
	t.listBytes, t.updateBytes = listBytes, updateBytes
	t.touched, t.prev = t.touched[:0], t.prev[:0]
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
	t.seen, t.listBytes, t.updateBytes = map[string]int{}, changesHeaderBytes, 0
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
// list (status keys and their encoded bytes) and to its entry charges.
type ChangeCost struct{ Keys, Bytes, Update int }

// Upper bounds of what one write adds to a status record's value.
const (
	// maxMemberIDLen is a member ID's longest (validate.go), or the
	// string "subject".
	maxMemberIDLen = 32
	// maxRevocationBytes bounds an encoded Revocation (a subject's, or an
	// attestation's).
	maxRevocationBytes = 3 + MaxReasonLen + 2*11 + 2 + maxMemberIDLen + 8
	// maxStatusEntryBytes bounds an encoded StatusEntry, revocation
	// included.
	maxStatusEntryBytes = 3 + 2 + AttestationIDLen + 2 + maxMemberIDLen + 2 + 32 + 2*11 + maxRevocationBytes + 8
	// maxSubjectRevocationBytes bounds an encoded SubjectRevocation.
	maxSubjectRevocationBytes = 2 + 32 + maxRevocationBytes
)

// StatusChangeCost bounds from above what tx can add to its block's change
// list and entry charges when the state before the block was base (the
// committed state; nil before the first block), without running it: an
// Attest one ClaimStatus (one entry more, and room for a subject
// revocation), a RevokeAttestation one (a revocation more), a
// RevokeSubjects a SubjectRevocation and every committed ClaimStatus of
// each commitment not revoked in base (a claim attested earlier in the
// block is charged to its Attest), a proposal or a vote the anchor set
// (the one status key governance writes; its entry is in the reserve).
// Summed over a block's transactions it is at least what the block's
// ChangeTracker charges, so a proposer that keeps the sum within the
// limits never proposes a transaction that FinalizeBlock refuses with
// CodeBlockChangesFull.
func StatusChangeCost(base Store, tx *Tx) ChangeCost {
	return NewCostBound(base, nil).Of(tx)
}

// CostBound is StatusChangeCost for the transactions of one proposal: the
// parameters are read once, and an attested subject's commitment comes
// from subject when that knows it (a Verifier's certificate check, cached
// for a transaction verified before), so such a transaction costs no
// certificate parse. Where subject does not know it, the certificate is
// parsed; where neither gives a commitment, the bound assumes the largest
// status record. It is not safe for concurrent use.
type CostBound struct {
	base        Store
	subject     func(*Tx) ([32]byte, bool)
	maxPerClaim uint32 // 0 until the first Attest reads it
}

// NewCostBound returns a CostBound over base; subject may be nil.
func NewCostBound(base Store, subject func(*Tx) ([32]byte, bool)) *CostBound {
	return &CostBound{base: base, subject: subject}
}

func (b *CostBound) commitment(tx *Tx, der []byte) ([32]byte, bool) {
	if b.subject != nil {
		if c, ok := b.subject(tx); ok {
			return c, true
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return [32]byte{}, false
	}
	return jpki.Commitment(cert.RawIssuer, cert.SerialNumber), true
}

// Of is StatusChangeCost(base, tx).
func (b *CostBound) Of(tx *Tx) ChangeCost {
	base := b.base
	var c ChangeCost
	add := func(key []byte, valueLen int) {
		c.Keys++
		c.Bytes += uvarintLen(uint64(len(key))) + len(key)
		c.Update += entryCharge(key, valueLen)
	}
	get := func(key []byte) []byte {
		if base == nil {
			return nil
		}
		return base.Get(key)
	}
	switch msg := tx.Body.Msg.(type) {
	case *chainpb.TxBody_Attest:
		a := msg.Attest
		key := ClaimKey(make([]byte, 32), a.ClaimType)
		if b.maxPerClaim == 0 {
			b.maxPerClaim = GetParamsOrDefault(base).MaxAttestationsPerClaim
		}
		maxValue := 64 + len(a.ClaimType) + maxRevocationBytes + maxStatusEntryBytes*int(b.maxPerClaim)
		if subject, ok := b.commitment(tx, a.AuthCertificate); ok {
			key = ClaimKey(subject[:], a.ClaimType)
			maxValue = min(maxValue, len(get(key))+maxStatusEntryBytes+maxRevocationBytes)
		}
		add(key, maxValue)
	case *chainpb.TxBody_RevokeAttestation:
		if att := GetAttestationOr(base, msg.RevokeAttestation.AttestationId); att != nil {
			key := ClaimKey(att.Subject, att.ClaimType)
			add(key, len(get(key))+maxRevocationBytes)
		} else { // attested in this block: its Attest is charged for the rest
			add(ClaimKey(make([]byte, 32), string(make([]byte, MaxClaimTypeLen))), 0)
			c.Update += maxRevocationBytes
		}
	case *chainpb.TxBody_RevokeSubjects:
		for _, s := range msg.RevokeSubjects.Commitments {
			if base != nil && GetSubjectRevocation(base, s) != nil {
				continue
			}
			add(SubjectRevocationKey(s), maxSubjectRevocationBytes)
			if base == nil {
				continue
			}
			p := SubjectClaimsPrefix(s)
			base.Iterate(p, PrefixEnd(p), func(k, v []byte) bool {
				add(k, len(v)+maxRevocationBytes)
				return true
			})
		}
	case *chainpb.TxBody_Propose, *chainpb.TxBody_Vote:
		add(AnchorsKey(), 0)
	}
	return c
}

// GetParamsOrDefault is base's parameters, or the defaults' bounds when
// there is no state yet.
func GetParamsOrDefault(base Store) *chainpb.Params {
	if base != nil {
		if p := GetParams(base); p != nil && p.MaxAttestationsPerClaim > 0 {
			return p
		}
	}
	return &chainpb.Params{MaxAttestationsPerClaim: 64}
}

// GetAttestationOr is GetAttestation, nil without a state.
func GetAttestationOr(base Store, id []byte) *chainpb.Attestation {
	if base == nil {
		return nil
	}
	return GetAttestation(base, id)
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
	return b.used.Keys+c.Keys <= MaxBlockStatusChanges && b.used.Bytes+c.Bytes <= MaxBlockChangesBytes &&
		b.used.Update+c.Update <= MaxBlockUpdateBytes
}

// Add charges c.
func (b *ChangeBudget) Add(c ChangeCost) {
	b.used.Keys += c.Keys
	b.used.Bytes += c.Bytes
	b.used.Update += c.Update
}
