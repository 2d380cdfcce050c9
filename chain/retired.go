package chain

import (
	"bytes"
	"encoding/binary"
	"slices"

	"github.com/idledger/idledger/chain/chainpb"
)

// prefixRetiredKey (0x1c) keys the member keys of removed members:
//
//	0x1c ed25519 member key -> member ID it belonged to
//
// A removed member's key never signs for a member again: added back under
// the same key, its old transactions (sequence 0, 1, ...) would replay.
const prefixRetiredKey = 0x1c

// RetiredKeyKey is the state key recording that pub was a removed member's.
func RetiredKeyKey(pub []byte) []byte { return append([]byte{prefixRetiredKey}, pub...) }

// RetiredKeyOwner returns the member a retired key belonged to, or "" when
// the key was never retired.
func RetiredKeyOwner(st Store, pub []byte) string {
	return string(st.Get(RetiredKeyKey(pub)))
}

// retireMember records mem's key as retired and takes mem's votes out of
// every open proposal: votes follow the member's current key, and a removed
// member has none. A member added again later votes anew.
func retireMember(st Store, mem *chainpb.Member) {
	st.Set(RetiredKeyKey(mem.PubKey), []byte(mem.Id))
	var ids []uint64
	st.Iterate([]byte{prefixExpiry}, PrefixEnd([]byte{prefixExpiry}), func(k, _ []byte) bool {
		if len(k) == 17 {
			ids = append(ids, binary.BigEndian.Uint64(k[9:]))
		}
		return true
	})
	for _, id := range ids {
		p := GetProposal(st, id)
		if p == nil || p.Status != ProposalOpen || !slices.Contains(p.Votes, mem.Id) {
			continue
		}
		p.Votes = slices.DeleteFunc(p.Votes, func(v string) bool { return v == mem.Id })
		st.Set(ProposalKey(p.Id), marshal(p))
	}
}

// validatorsOf lists the consensus keys of mem's validators, in key order.
func validatorsOf(st Store, member string) [][]byte {
	var out [][]byte
	for _, v := range Validators(st) {
		if v.Member == member {
			out = append(out, bytes.Clone(v.PubKey))
		}
	}
	return out
}
