package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idledger/idledger/cli"
)

type claimTypeJSON struct {
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	SchemaHash    string   `json:"schema_hash"`
	Attesters     []string `json:"attesters"`
	MaxValidity   string   `json:"max_validity"`
	Retired       bool     `json:"retired"`
	RetiredHeight int64    `json:"retired_height"`
}

// TestClaimTypeRegistry drives the registry through the CLI on one node:
// init registers the founding types (or --claim-types), governance
// registers, changes and retires a type, attestations outside the registry
// are refused with their codes, and a verified status names the attester
// and the type's registry entry under the same proof.
func TestClaimTypeRegistry(t *testing.T) {
	t.Parallel()
	n := newCLINode(t, "registry-test", "h1")
	dir, ca, home, url, opKey, holder := n.Dir, n.CA, n.Home, n.URL, n.MemberKey, n.Holders["h1"]

	// --claim-types changes init's list (checked on a second home, not started).
	var initRes struct {
		MemberKeyFile string `json:"member_key_file"`
		GenesisFile   string `json:"genesis_file"`
	}
	ok(t, &initRes, "init", "--home", filepath.Join(dir, "other"), "--chain-id", "other", "--anchor", filepath.Join(ca, "ca.crt"), "--claim-types", "kyc,gym", "-o", "json")
	g, err := os.ReadFile(initRes.GenesisFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(g), `"name": "gym"`) || strings.Contains(string(g), `"name": "ticket"`) {
		t.Errorf("--claim-types kyc,gym: genesis claim types:\n%s", g)
	}

	startNode(t, home, url)

	var cts []claimTypeJSON
	ok(t, &cts, "query", "claim-types", "--node", url, "-o", "json")
	var names []string
	for _, c := range cts {
		names = append(names, c.Name)
		if len(c.Attesters) != 1 || c.Attesters[0] != "operator" || c.MaxValidity != "8760h0m0s" || len(c.SchemaHash) != 64 || c.Description == "" {
			t.Errorf("founding type %+v", c)
		}
	}
	if strings.Join(names, ",") != "fare-eligibility,kyc,ticket" {
		t.Fatalf("claim types = %v", names)
	}
	if text := ok(t, nil, "query", "claim-types", "--node", url); !strings.Contains(text, "kyc (active)") || !strings.Contains(text, "attesters:    operator") {
		t.Errorf("text claim-types:\n%s", text)
	}

	claim := writeFile(t, dir, "claim.txt", "student 2026")
	attest := []string{"attest", "--node", url, "--member-key", opKey, "--claim-file", claim, "--signer", holder.Signer}
	refused(t, "(code 70)", append(attest, "--claim-type", "student-fare")...)

	gov := []string{"--node", url, "--member-key", opKey, "-o", "json"}
	schema := writeFile(t, dir, "schema.txt", "student-fare schema")
	var p proposalJSON
	ok(t, &p, append([]string{"gov", "propose", "register-claim-type", "--name", "student-fare", "--attester", "operator",
		"--max-validity", "1000h", "--schema-file", schema, "--description", "enrolled student"}, gov...)...)
	if p.Status != "executed" || p.Action != "register-claim-type" {
		t.Fatalf("register-claim-type = %+v", p)
	}
	refused(t, "(code 73)", append(attest, "--claim-type", "student-fare", "--not-after", time.Now().Add(2000*time.Hour).Format(time.RFC3339))...)
	ok(t, nil, append(attest, "--claim-type", "student-fare", "-o", "json")...) // 30 days by default

	var st struct {
		State       string `json:"state"`
		Verified    bool   `json:"verified"`
		Attestation *struct {
			ID       string `json:"id"`
			Attester string `json:"attester"`
		} `json:"attestation"`
		ClaimTypeEntry  *claimTypeJSON `json:"claim_type_entry"`
		AttesterAllowed *bool          `json:"attester_allowed"`
	}
	status := []string{"query", "status", "--node", url, "--cert", holder.Certificate, "--claim-type", "student-fare", "--verify", "--home", home, "-o", "json"}
	ok(t, &st, status...)
	if st.State != "valid" || !st.Verified || st.Attestation == nil || st.Attestation.Attester != "operator" ||
		st.ClaimTypeEntry == nil || st.ClaimTypeEntry.Name != "student-fare" || st.ClaimTypeEntry.Description != "enrolled student" ||
		st.AttesterAllowed == nil || !*st.AttesterAllowed {
		t.Fatalf("status = %+v", st)
	}

	// Retire: new attestations refused; the live one stays valid, and the
	// status says the type is retired.
	ok(t, &p, append([]string{"gov", "propose", "retire-claim-type", "--name", "student-fare"}, gov...)...)
	if p.Status != "executed" || p.Action != "retire-claim-type" {
		t.Fatalf("retire-claim-type = %+v", p)
	}
	refused(t, "(code 71)", append(attest, "--claim-type", "student-fare")...)
	st.ClaimTypeEntry = nil
	ok(t, &st, status...)
	if st.State != "valid" || !st.Verified || st.ClaimTypeEntry == nil || !st.ClaimTypeEntry.Retired || *st.AttesterAllowed {
		t.Fatalf("status after retirement = %+v", st)
	}
	if text := ok(t, nil, status[:len(status)-2]...); !strings.Contains(text, "registry:    retired at height") {
		t.Errorf("text status after retirement:\n%s", text)
	}
	// A registration without attesters is a usage error, caught before
	// anything is sent.
	if code, _, errs := run(t, append([]string{"gov", "propose", "register-claim-type", "--name", "ticket", "--max-validity", "1h"}, gov...)...); code != cli.ExitUsage || !strings.Contains(errs, "--attester") {
		t.Errorf("register-claim-type without --attester: exit %d, %q", code, errs)
	}
}
