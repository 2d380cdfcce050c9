package genesis

import (
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
)

// ClaimType is a genesis entry of the claim-type registry (see
// chainpb.ClaimType and docs/claim-types.md).
type ClaimType struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// SchemaHash is the hex SHA-256 of the schema document, or "".
	SchemaHash  string   `json:"schema_hash,omitempty"`
	Attesters   []string `json:"attesters"`
	MaxValidity Duration `json:"max_validity"`
}

// FoundingClaimTypes makes the registry entries of names (the founding
// types kyc, ticket and fare-eligibility by default, when names is nil),
// each attestable by attesters for up to maxValidity.
func FoundingClaimTypes(names, attesters []string, maxValidity time.Duration) []ClaimType {
	if names == nil {
		for _, f := range chain.FoundingClaimTypes {
			names = append(names, f.Name)
		}
	}
	var out []ClaimType
	for _, n := range names {
		ct := chain.NewClaimType(n, attesters, int64(maxValidity/time.Second))
		out = append(out, ClaimType{
			Name: ct.Name, Description: ct.Description, SchemaHash: hex.EncodeToString(ct.SchemaHash),
			Attesters: ct.Attesters, MaxValidity: Duration(maxValidity),
		})
	}
	return out
}

func (s *AppState) chainClaimTypes() []*chainpb.ClaimType {
	var out []*chainpb.ClaimType
	for _, c := range s.ClaimTypes {
		h, _ := hex.DecodeString(c.SchemaHash)
		att := slices.Clone(c.Attesters)
		slices.Sort(att)
		out = append(out, &chainpb.ClaimType{
			Name: c.Name, Description: c.Description, SchemaHash: h, Attesters: att,
			MaxValidity: int64(time.Duration(c.MaxValidity) / time.Second),
		})
	}
	return out
}

func (s *AppState) validateClaimTypes(g *chain.Genesis) []error {
	var errs []error
	members := map[string]*chainpb.Member{}
	for _, m := range g.Members {
		members[m.Id] = m
	}
	seen := map[string]bool{}
	for i, c := range s.ClaimTypes {
		f := fmt.Sprintf("claim_types[%d]", i)
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("genesis: %s: %s", f, fmt.Sprintf(format, args...)))
		}
		if _, err := hex.DecodeString(c.SchemaHash); err != nil {
			bad("schema_hash: want hex digits")
			continue
		}
		if d := time.Duration(c.MaxValidity); d%time.Second != 0 {
			bad("max_validity: want a whole number of seconds, got %s", d)
		}
		if err := chain.ValidateClaimType(g.ClaimTypes[i]); err != nil {
			bad("%v", err)
			continue
		}
		if seen[c.Name] {
			bad("name: %q appears twice", c.Name)
		}
		seen[c.Name] = true
		for _, id := range c.Attesters {
			m := members[id]
			switch {
			case m == nil:
				bad("attesters: %q is not a member", id)
			case !chain.HasRole(m, chain.RoleAttester):
				bad("attesters: member %q does not hold the attester role", id)
			}
		}
	}
	return errs
}
