package genesis_test

import (
	"strings"
	"testing"
	"time"

	"github.com/idledger/idledger/genesis"
)

// TestClaimTypesValidate: each bad genesis registry entry is refused with
// an error naming it.
func TestClaimTypesValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*genesis.ClaimType)
		want string
	}{
		{"bad name", func(c *genesis.ClaimType) { c.Name = "Not OK" }, `claim_types[0]: name "Not OK"`},
		{"not a member", func(c *genesis.ClaimType) { c.Attesters = []string{"nobody"} }, `claim_types[0]: attesters: "nobody" is not a member`},
		{"no attester role", func(c *genesis.ClaimType) { c.Attesters = []string{"reader"} }, `member "reader" does not hold the attester role`},
		{"no attesters", func(c *genesis.ClaimType) { c.Attesters = nil }, "at least one member"},
		{"schema hash not hex", func(c *genesis.ClaimType) { c.SchemaHash = "zz" }, "schema_hash: want hex"},
		{"short schema hash", func(c *genesis.ClaimType) { c.SchemaHash = "abcd" }, "schema_hash"},
		{"no max validity", func(c *genesis.ClaimType) { c.MaxValidity = 0 }, "max_validity"},
		{"fractional max validity", func(c *genesis.ClaimType) { c.MaxValidity = genesis.Duration(1500 * time.Millisecond) }, "whole number of seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := valid(t)
			tc.edit(&s.ClaimTypes[0])
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	s := valid(t)
	s.ClaimTypes = append(s.ClaimTypes, s.ClaimTypes[0])
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "appears twice") {
		t.Fatalf("duplicate: %v", err)
	}
	// The founding types by default, and their entries survive Chain().
	f := genesis.FoundingClaimTypes(nil, []string{"operator"}, time.Hour)
	if len(f) != 3 || f[0].Name != "kyc" || f[1].Name != "ticket" || f[2].Name != "fare-eligibility" || len(f[0].SchemaHash) != 64 {
		t.Fatalf("founding = %+v", f)
	}
	s = valid(t)
	s.ClaimTypes = f
	g := s.Chain()
	if len(g.ClaimTypes) != 3 || g.ClaimTypes[0].MaxValidity != 3600 || len(g.ClaimTypes[0].SchemaHash) != 32 {
		t.Fatalf("chain claim types = %v", g.ClaimTypes)
	}
}
