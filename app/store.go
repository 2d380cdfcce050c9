package app

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/cosmos/iavl"

	"github.com/idledger/idledger/chain"
)

// treeStore is the IAVL working tree as a chain.Store (FinalizeBlock).
type treeStore struct{ t *iavl.MutableTree }

var _ chain.Store = treeStore{}

func (s treeStore) Get(key []byte) []byte {
	v, err := s.t.Get(key)
	if err != nil {
		panic(fmt.Sprintf("app: state read: %v", err))
	}
	return v
}

func (s treeStore) Set(key, value []byte) {
	if _, err := s.t.Set(key, value); err != nil {
		panic(fmt.Sprintf("app: state write: %v", err))
	}
}

func (s treeStore) Delete(key []byte) {
	if _, _, err := s.t.Remove(key); err != nil {
		panic(fmt.Sprintf("app: state delete: %v", err))
	}
}

func (s treeStore) Iterate(start, end []byte, fn func(k, v []byte) bool) {
	it, err := s.t.Iterator(start, end, true)
	if err != nil {
		panic(fmt.Sprintf("app: state iterate: %v", err))
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		if !fn(it.Key(), it.Value()) {
			return
		}
	}
}

// readStore is a committed, immutable version of the tree.
type readStore struct{ t *iavl.ImmutableTree }

func (s readStore) Get(key []byte) []byte {
	v, err := s.t.Get(key)
	if err != nil {
		panic(fmt.Sprintf("app: state read: %v", err))
	}
	return v
}

func (s readStore) Set(key, value []byte) { panic("app: write to a read-only state") }
func (s readStore) Delete(key []byte)     { panic("app: write to a read-only state") }

func (s readStore) Iterate(start, end []byte, fn func(k, v []byte) bool) {
	s.t.IterateRange(start, end, true, func(k, v []byte) bool { return !fn(k, v) })
}

// memoStore is a committed version that remembers what it read: the base
// of the mempool's view (App.check). The keys every CheckTx reads (the
// parameters, the submitting member, the claim type's registry entry, the
// last block) then come from a map after the first transaction of a
// block, where each IAVL read walks some twenty nodes of the node cache.
// The version is immutable, so a remembered value is never stale; the
// store is thrown away with the view at every Commit. The proposal checks
// (PrepareProposal, ProcessProposal) read the same version through it, so
// a key CheckTx read is not walked to again for the block: it is safe for
// concurrent use.
type memoStore struct {
	base  readStore
	mu    sync.Mutex
	reads map[string][]byte // nil value: absent
}

// maxMemoReads bounds what one version remembers (a block's worth of
// CheckTx reads is far less); past it, reads go to the tree.
const maxMemoReads = 1 << 16

func newMemoStore(t *iavl.ImmutableTree) *memoStore {
	return &memoStore{base: readStore{t}, reads: make(map[string][]byte)}
}

func (s *memoStore) Get(key []byte) []byte {
	s.mu.Lock()
	v, ok := s.reads[string(key)]
	s.mu.Unlock()
	if ok {
		return v
	}
	v = s.base.Get(key) // outside the lock: IAVL's immutable tree reads concurrently
	s.mu.Lock()
	if len(s.reads) < maxMemoReads {
		s.reads[string(key)] = v
	}
	s.mu.Unlock()
	return v
}

func (s *memoStore) Set(key, value []byte) { s.base.Set(key, value) }
func (s *memoStore) Delete(key []byte)     { s.base.Delete(key) }
func (s *memoStore) Iterate(start, end []byte, fn func(k, v []byte) bool) {
	s.base.Iterate(start, end, fn)
}

// overlay is the CheckTx state: the last committed tree with the writes of
// the transactions admitted to the mempool since. It is thrown away at every
// Commit. Its map never reaches consensus.
type overlay struct {
	base   chain.Store
	writes map[string][]byte // nil value: deleted
}

var _ chain.Store = (*overlay)(nil)

func newOverlay(base chain.Store) *overlay {
	return &overlay{base: base, writes: make(map[string][]byte)}
}

func (o *overlay) Get(key []byte) []byte {
	if v, ok := o.writes[string(key)]; ok {
		return v
	}
	return o.base.Get(key)
}

func (o *overlay) Set(key, value []byte) { o.writes[string(key)] = bytes.Clone(value) }
func (o *overlay) Delete(key []byte)     { o.writes[string(key)] = nil }

func (o *overlay) Iterate(start, end []byte, fn func(k, v []byte) bool) {
	chain.MergeIterate(o.base, o.writes, start, end, fn)
}
