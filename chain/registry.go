package chain

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/privacy"
)

// The claim-type registry. Every claim type is registered under governance
// (or in the genesis): its meaning (description and schema hash), the
// members allowed to attest it and the longest validity an attestation of
// it may have. There is no open mode: an Attest of a type that is not
// registered is refused.
//
// Live attestations and a lost right. Changing a type (a new attester list,
// a shorter max validity) or retiring it applies to new attestations only:
// attestations made before stay as they are and read valid until their
// not-after, unless they are revoked. An attester's right was checked when
// the attestation was made, and a relying party sees the type's current
// registry entry beside every status answer (client.Status.ClaimTypeEntry),
// so it can apply a stricter rule of its own; a revoker can revoke the
// attestations that must stop counting at once. docs/claim-types.md says the
// same.

// Refusals of the registry (docs/codes.md).
const (
	CodeUnregisteredClaimType Code = 70 // the claim type is not in the registry
	CodeRetiredClaimType      Code = 71 // the claim type is retired
	CodeAttesterNotAllowed    Code = 72 // the member is not an allowed attester of the type
	CodeValidityTooLong       Code = 73 // not_after beyond block time + the type's max validity
)

// prefixClaimType keys the registry: 0x18 || name -> ClaimType.
const prefixClaimType = 0x18

// Limits of a registry entry.
const (
	MaxClaimTypeDescription = 512
	MaxClaimTypeAttesters   = 256
)

// ClaimTypeKey is the key of a claim type's registry entry.
func ClaimTypeKey(name string) []byte { return append([]byte{prefixClaimType}, name...) }

// ClaimTypesPrefix is the range of the whole registry.
func ClaimTypesPrefix() []byte { return []byte{prefixClaimType} }

// GetClaimType reads a registry entry, or nil.
func GetClaimType(st Store, name string) *chainpb.ClaimType {
	b := st.Get(ClaimTypeKey(name))
	if b == nil {
		return nil
	}
	ct := new(chainpb.ClaimType)
	unmarshal(b, ct)
	return ct
}

// SetClaimType writes a registry entry, its attesters sorted.
func SetClaimType(st Store, ct *chainpb.ClaimType) {
	slices.Sort(ct.Attesters)
	st.Set(ClaimTypeKey(ct.Name), marshal(ct))
}

// ClaimTypes lists the registry in name order, retired entries included.
func ClaimTypes(st Store) []*chainpb.ClaimType {
	var out []*chainpb.ClaimType
	st.Iterate(ClaimTypesPrefix(), PrefixEnd(ClaimTypesPrefix()), func(_, v []byte) bool {
		ct := new(chainpb.ClaimType)
		unmarshal(v, ct)
		out = append(out, ct)
		return true
	})
	return out
}

// AttesterAllowed reports whether member may attest ct now.
func AttesterAllowed(ct *chainpb.ClaimType, member string) bool {
	return ct != nil && !ct.Retired && slices.Contains(ct.Attesters, member)
}

// ValidateClaimType checks a registry entry's form, without state.
func ValidateClaimType(ct *chainpb.ClaimType) error {
	switch {
	case ct == nil:
		return fmt.Errorf("no claim type")
	case !ValidClaimType(ct.Name):
		return fmt.Errorf("name %q: want 1-%d characters of a-z 0-9 . _ -", ct.Name, MaxClaimTypeLen)
	case len(ct.Description) > MaxClaimTypeDescription:
		return fmt.Errorf("description: at most %d bytes, got %d", MaxClaimTypeDescription, len(ct.Description))
	case len(ct.SchemaHash) != 0 && len(ct.SchemaHash) != sha256.Size:
		return fmt.Errorf("schema_hash: want the 32-byte SHA-256 of the schema document (or none), got %d bytes", len(ct.SchemaHash))
	case len(ct.Attesters) == 0:
		return fmt.Errorf("attesters: name at least one member allowed to attest %q", ct.Name)
	case len(ct.Attesters) > MaxClaimTypeAttesters:
		return fmt.Errorf("attesters: at most %d, got %d", MaxClaimTypeAttesters, len(ct.Attesters))
	case ct.MaxValidity <= 0:
		return fmt.Errorf("max_validity: want a positive number of seconds, got %d", ct.MaxValidity)
	case ct.Retired || ct.Height != 0 || ct.RetiredHeight != 0:
		return fmt.Errorf("retired, height and retired_height are set by the chain, not by the action")
	}
	for _, f := range []struct{ name, text string }{{"name", ct.Name}, {"description", ct.Description}} {
		if d, found := privacy.FindMyNumber([]byte(f.text)); found {
			return fmt.Errorf("%s carries what looks like a My Number (%s): the ledger never records one", f.name, privacy.Mask(d))
		}
	}
	seen := map[string]bool{}
	for _, id := range ct.Attesters {
		if !ValidMemberID(id) {
			return fmt.Errorf("attesters: %q is not a member ID", id)
		}
		if seen[id] {
			return fmt.Errorf("attesters: %q appears twice", id)
		}
		seen[id] = true
	}
	return nil
}

// checkRegistry applies the registry to an Attest by member of claimType
// lapsing at notAfter, at block time now. It is the one call chain/attest.go
// makes.
func checkRegistry(st Store, member, claimType string, notAfter, now int64) error {
	return CheckAttestClaimType(GetClaimType(st, claimType), member, claimType, notAfter, now)
}

// CheckAttestClaimType is the registry's rule for an Attest by member of
// claimType lapsing at notAfter, at block time now, given the type's entry
// ct (nil: not registered). The chain applies it to the entry in its state;
// the CLI applies it to the entry the node reports before the holder is
// asked to sign (cli/precheck.go), and when it does not know notAfter yet
// it passes now, which every entry's max validity allows.
func CheckAttestClaimType(ct *chainpb.ClaimType, member, claimType string, notAfter, now int64) error {
	switch {
	case ct == nil:
		return refuse(CodeUnregisteredClaimType, "claim type %q is not registered (see idledger query claim-types)", claimType)
	case ct.Retired:
		return refuse(CodeRetiredClaimType, "claim type %q was retired at height %d", claimType, ct.RetiredHeight)
	case !slices.Contains(ct.Attesters, member):
		return refuse(CodeAttesterNotAllowed, "member %q may not attest %q: its attesters are %s", member, claimType, strings.Join(ct.Attesters, ", "))
	case notAfter-now > ct.MaxValidity:
		return refuse(CodeValidityTooLong, "not-after %s is more than %q's maximum validity %s after the block time",
			fmtTime(notAfter), claimType, time.Duration(ct.MaxValidity)*time.Second)
	}
	return nil
}

// checkClaimTypeAction checks the form of the registry's governance actions;
// handled says whether a was one.
func checkClaimTypeAction(a *chainpb.GovAction) (handled bool, err error) {
	switch act := a.GetAction().(type) {
	case *chainpb.GovAction_RegisterClaimType:
		if err := ValidateClaimType(act.RegisterClaimType); err != nil {
			return true, fmt.Errorf("register_claim_type: %w", err)
		}
		return true, nil
	case *chainpb.GovAction_RetireClaimType:
		if !ValidClaimType(act.RetireClaimType) {
			return true, fmt.Errorf("retire_claim_type: %q is not a claim type name", act.RetireClaimType)
		}
		return true, nil
	}
	return false, nil
}

// claimTypeActionName names the registry's actions, or "".
func claimTypeActionName(a *chainpb.GovAction) string {
	switch a.GetAction().(type) {
	case *chainpb.GovAction_RegisterClaimType:
		return "register_claim_type"
	case *chainpb.GovAction_RetireClaimType:
		return "retire_claim_type"
	}
	return ""
}

// executeClaimTypeAction applies a registry action whose votes reached the
// threshold; handled says whether a was one. An action that no longer fits
// the state fails and changes nothing.
func executeClaimTypeAction(st Store, env Env, a *chainpb.GovAction) (handled bool, err error) {
	switch act := a.GetAction().(type) {
	case *chainpb.GovAction_RegisterClaimType:
		n := act.RegisterClaimType
		if cur := GetClaimType(st, n.Name); cur != nil && cur.Retired {
			return true, fmt.Errorf("claim type %q was retired at height %d: a retired name is never reused", n.Name, cur.RetiredHeight)
		}
		for _, id := range n.Attesters {
			m := GetMember(st, id)
			if m == nil {
				return true, fmt.Errorf("no member %q", id)
			}
			if !HasRole(m, RoleAttester) {
				return true, fmt.Errorf("member %q does not hold the attester role", id)
			}
		}
		ct := &chainpb.ClaimType{
			Name: n.Name, Description: n.Description, SchemaHash: n.SchemaHash,
			Attesters: slices.Clone(n.Attesters), MaxValidity: n.MaxValidity, Height: env.Height,
		}
		SetClaimType(st, ct)
		return true, nil
	case *chainpb.GovAction_RetireClaimType:
		ct := GetClaimType(st, act.RetireClaimType)
		switch {
		case ct == nil:
			return true, fmt.Errorf("no claim type %q", act.RetireClaimType)
		case ct.Retired:
			return true, fmt.Errorf("claim type %q is retired already", ct.Name)
		}
		ct.Retired, ct.RetiredHeight = true, env.Height
		SetClaimType(st, ct)
		return true, nil
	}
	return false, nil
}

// FoundingClaimType describes one of the claim types idledger was founded
// for; init and testnet init register them by default.
type FoundingClaimType struct {
	Name        string
	Description string
	// Schema is the schema document; the registry holds its SHA-256.
	Schema string
}

// FoundingClaimTypes are the default registry of a new chain: kyc, ticket,
// fare-eligibility. docs/claim-types.md prints their schema documents.
var FoundingClaimTypes = []FoundingClaimType{
	{
		Name:        "kyc",
		Description: "identity verified by the attester (eKYC under the Act on Prevention of Transfer of Criminal Proceeds) with the holder's JPKI user-authentication certificate",
		Schema:      "idledger claim schema v1: kyc\nclaim_hash = SHA-256 of the attester's KYC record reference (opaque, no personal data)\n",
	},
	{
		Name:        "ticket",
		Description: "the holder holds an event ticket issued by the attester",
		Schema:      "idledger claim schema v1: ticket\nclaim_hash = SHA-256 of \"event-id/seat-or-ticket-number\" as the attester issued it\n",
	},
	{
		Name:        "fare-eligibility",
		Description: "the holder is eligible for a discounted fare (student, senior, disability) as checked by the attester",
		Schema:      "idledger claim schema v1: fare-eligibility\nclaim_hash = SHA-256 of the eligibility category (\"student\", \"senior\", \"disability\", ...)\n",
	},
}

// LookupFoundingClaimType returns the founding claim type name, or false.
func LookupFoundingClaimType(name string) (FoundingClaimType, bool) {
	for _, f := range FoundingClaimTypes {
		if f.Name == name {
			return f, true
		}
	}
	return FoundingClaimType{}, false
}

// NewClaimType makes the registry entry of name for attesters: the founding
// type's description and schema when name is one, else a generic
// description and no schema.
func NewClaimType(name string, attesters []string, maxValidity int64) *chainpb.ClaimType {
	ct := &chainpb.ClaimType{Name: name, Attesters: slices.Clone(attesters), MaxValidity: maxValidity}
	slices.Sort(ct.Attesters)
	if f, ok := LookupFoundingClaimType(name); ok {
		h := sha256.Sum256([]byte(f.Schema))
		ct.Description, ct.SchemaHash = f.Description, h[:]
	} else {
		ct.Description = "claim type " + name
	}
	return ct
}
