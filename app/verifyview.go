package app

import (
	"bytes"
	"slices"

	"github.com/idledger/idledger/chain"
)

// verifyView is a copy, taken under the app's lock when a version is
// committed, of what chain.Machine.Verify reads of that state: the trust
// anchors, the parameters and the member records (members are few). CheckTx
// verifies against it outside the lock while a block executes. Reading the
// committed IAVL tree there instead raced with the block: the committed
// tree's cached nodes are shared with the working tree, whose writes clear
// their child pointers (iavl's Node.clone), and with IAVL's fast index off
// (storeopts.go) every read walks those nodes. A verdict found against the
// view is only a cache warm-up: Deliver, under the lock, gives the answer.
type verifyView map[string][]byte

var _ chain.Store = verifyView(nil)

func newVerifyView(st chain.Store) verifyView {
	v := verifyView{}
	for _, k := range [][]byte{chain.AnchorsKey(), chain.ParamsKey()} {
		if b := st.Get(k); b != nil {
			v[string(k)] = bytes.Clone(b)
		}
	}
	p := chain.MembersPrefix()
	st.Iterate(p, chain.PrefixEnd(p), func(k, b []byte) bool {
		v[string(k)] = bytes.Clone(b)
		return true
	})
	return v
}

func (v verifyView) Get(key []byte) []byte { return v[string(key)] }

func (v verifyView) Set(key, value []byte) { panic("app: write to a read-only state") }
func (v verifyView) Delete(key []byte)     { panic("app: write to a read-only state") }

func (v verifyView) Iterate(start, end []byte, fn func(k, v []byte) bool) {
	var keys []string
	for k := range v {
		if k >= string(start) && (end == nil || k < string(end)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !fn([]byte(k), v[k]) {
			return
		}
	}
}
