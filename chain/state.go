package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/jpki"
)

// Roles a member can hold.
const (
	RoleGovernor  = "governor"
	RoleAttester  = "attester"
	RoleRevoker   = "revoker"
	RoleValidator = "validator"
)

// AllRoles lists the roles in their canonical (sorted) order.
var AllRoles = []string{RoleAttester, RoleGovernor, RoleRevoker, RoleValidator}

// ValidRole reports whether r names a role.
func ValidRole(r string) bool { return slices.Contains(AllRoles, r) }

// HasRole reports whether m holds role r.
func HasRole(m *chainpb.Member, r string) bool { return slices.Contains(m.Roles, r) }

// GetMember reads a member, or nil.
func GetMember(st Store, id string) *chainpb.Member {
	b := st.Get(MemberKey(id))
	if b == nil {
		return nil
	}
	m := new(chainpb.Member)
	unmarshal(b, m)
	return m
}

// SetMember writes a member.
func SetMember(st Store, m *chainpb.Member) { st.Set(MemberKey(m.Id), marshal(m)) }

// Members lists every member in ID order.
func Members(st Store) []*chainpb.Member {
	var out []*chainpb.Member
	st.Iterate(MembersPrefix(), PrefixEnd(MembersPrefix()), func(_, v []byte) bool {
		m := new(chainpb.Member)
		unmarshal(v, m)
		out = append(out, m)
		return true
	})
	return out
}

// GetParams reads the chain parameters.
func GetParams(st Store) *chainpb.Params {
	p := new(chainpb.Params)
	if b := st.Get(ParamsKey()); b != nil {
		unmarshal(b, p)
	}
	return p
}

// SetParams writes the chain parameters.
func SetParams(st Store, p *chainpb.Params) { st.Set(ParamsKey(), marshal(p)) }

// GetAnchors reads the trust anchor set.
func GetAnchors(st Store) *chainpb.AnchorSet {
	s := new(chainpb.AnchorSet)
	if b := st.Get(AnchorsKey()); b != nil {
		unmarshal(b, s)
	}
	return s
}

// SetAnchors writes the trust anchor set, ordered by anchor ID.
func SetAnchors(st Store, s *chainpb.AnchorSet) {
	slices.SortFunc(s.Anchors, func(a, b *chainpb.TrustAnchor) int {
		ha, hb := sha256.Sum256(a.Certificate), sha256.Sum256(b.Certificate)
		return slices.Compare(ha[:], hb[:])
	})
	st.Set(AnchorsKey(), marshal(s))
}

// GetAttestation reads an attestation by ID, or nil.
func GetAttestation(st Store, id []byte) *chainpb.Attestation {
	b := st.Get(AttestationKey(id))
	if b == nil {
		return nil
	}
	a := new(chainpb.Attestation)
	unmarshal(b, a)
	return a
}

// GetClaimStatus reads the status record of (subject, claim type), or nil.
func GetClaimStatus(st Store, subject []byte, claimType string) *chainpb.ClaimStatus {
	b := st.Get(ClaimKey(subject, claimType))
	if b == nil {
		return nil
	}
	cs := new(chainpb.ClaimStatus)
	unmarshal(b, cs)
	return cs
}

// GetSubjectRevocation reads a subject's revocation, or nil.
func GetSubjectRevocation(st Store, subject []byte) *chainpb.SubjectRevocation {
	b := st.Get(SubjectRevocationKey(subject))
	if b == nil {
		return nil
	}
	r := new(chainpb.SubjectRevocation)
	unmarshal(b, r)
	return r
}

// SubjectClaims lists a subject's claim status records in claim-type order.
func SubjectClaims(st Store, subject []byte) []*chainpb.ClaimStatus {
	p := SubjectClaimsPrefix(subject)
	var out []*chainpb.ClaimStatus
	st.Iterate(p, PrefixEnd(p), func(_, v []byte) bool {
		cs := new(chainpb.ClaimStatus)
		unmarshal(v, cs)
		out = append(out, cs)
		return true
	})
	return out
}

// anchorSet is a parsed AnchorSet.
type anchorSet struct {
	anchors []*jpki.Anchor
	digest  [32]byte // SHA-256 of the encoded set: identifies it in caches
	raw     []byte   // the encoded set (Machine.lastAnchors compares it)
}

// Genesis is the initial application state, already validated (package
// genesis builds and checks it).
type Genesis struct {
	Params  *chainpb.Params
	Members []*chainpb.Member
	Anchors []*chainpb.TrustAnchor
	// ClaimTypes are the first entries of the claim-type registry.
	ClaimTypes []*chainpb.ClaimType
}

// InitState writes the genesis state.
func InitState(st Store, chainID string, g *Genesis) {
	st.Set(ChainIDKey(), []byte(chainID))
	SetParams(st, g.Params)
	for _, m := range g.Members {
		SetMember(st, m)
	}
	SetAnchors(st, &chainpb.AnchorSet{Anchors: g.Anchors})
	for _, ct := range g.ClaimTypes {
		SetClaimType(st, ct)
	}
}

// ChainID reads the chain ID recorded at genesis.
func ChainID(st Store) string { return string(st.Get(ChainIDKey())) }

// LastBlock reads the height and time (Unix seconds) of the last block the
// state has seen.
func LastBlock(st Store) (height, time int64) {
	b := st.Get(LastBlockKey())
	if len(b) != 16 {
		return 0, 0
	}
	return int64(binary.BigEndian.Uint64(b)), int64(binary.BigEndian.Uint64(b[8:]))
}

// BeginBlock records the block's height and time in the state.
func BeginBlock(st Store, env Env) {
	b := binary.BigEndian.AppendUint64(nil, uint64(env.Height))
	st.Set(LastBlockKey(), binary.BigEndian.AppendUint64(b, uint64(env.Time)))
}

// ValidatorUpdate is a change of a validator's voting power (0 removes it),
// handed back to CometBFT at the end of a block.
type ValidatorUpdate struct {
	PubKey []byte // ed25519
	Power  int64
}

// SetValidator records a validator's power and member.
func SetValidator(st Store, pub []byte, power int64, member string) {
	if power == 0 {
		st.Delete(ValidatorKey(pub))
		return
	}
	st.Set(ValidatorKey(pub), marshal(&chainpb.Validator{Member: member, PubKey: pub, Power: power}))
}

// Validators lists the validators in key order.
func Validators(st Store) []*chainpb.Validator {
	var out []*chainpb.Validator
	st.Iterate(ValidatorsPrefix(), PrefixEnd(ValidatorsPrefix()), func(_, v []byte) bool {
		val := new(chainpb.Validator)
		unmarshal(v, val)
		out = append(out, val)
		return true
	})
	return out
}

// EndBlock finishes a block: it returns the validator updates the block's
// transactions decided.
// Proposals that ran out of time expire here.
func EndBlock(st Store, env Env) []ValidatorUpdate {
	expireProposals(st, env.Height)
	return pendingPower(st)
}
