package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idledger/idledger/cli"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/testca"
)

// TestGate walks a gate's path through the CLI: a holder with an
// attestation presents the card for a challenge; the gate says yes once,
// and no for a replay, another holder, another audience, and a holder
// without the claim.
func TestGate(t *testing.T) {
	e := nodetest.New(t, "gate-test")
	e.Start(t)
	alice, _ := issueHolder(t, e, "alice")
	bob, _ := issueHolder(t, e, "bob")
	ok(t, nil, "attest", "--node", e.URL, "--signer", softSpec(alice), "--member-key", e.Init.MemberKeyFile,
		"--claim-type", "event-ticket", "--claim-hash", strings.Repeat("ab", 32))

	dir := t.TempDir()
	db := filepath.Join(dir, "challenges")
	present := func(h *testca.Holder, challenge, audience string) string {
		out := filepath.Join(dir, h.Name+"-"+challenge[:4]+".pres")
		ok(t, nil, "present", "--node", e.URL, "--signer", softSpec(h), "--challenge", challenge, "--audience", audience, "--out", out)
		return out
	}
	type answer struct {
		Valid  bool   `json:"accepted"`
		Reason string `json:"reason"`
	}
	verify := func(file, audience string) (int, answer) {
		code, out, _ := run(t, "verify-presentation", "--node", e.URL, "--presentation", file, "--claim-type", "event-ticket",
			"--audience", audience, "--challenge-db", db, "-o", "json")
		var a answer
		if out != "" {
			if err := json.Unmarshal([]byte(out), &a); err != nil {
				t.Fatalf("output %q: %v", out, err)
			}
		}
		return code, a
	}
	c1 := strings.Repeat("01", 16)
	p := present(alice, c1, "gate-7")
	if code, a := verify(p, "gate-7"); code != cli.ExitOK || !a.Valid {
		t.Fatalf("valid holder: exit %d, %+v", code, a)
	}
	for _, tc := range []struct {
		name, file, audience, reason string
	}{
		{"replayed challenge", p, "gate-7", "replayed_challenge"},
		{"another audience", present(alice, strings.Repeat("02", 16), "gate-7"), "gate-9", "wrong_audience"},
		{"no attestation", present(bob, strings.Repeat("03", 16), "gate-7"), "gate-7", "no_attestation"},
	} {
		code, a := verify(tc.file, tc.audience)
		if code == cli.ExitOK || a.Valid || a.Reason != tc.reason {
			t.Errorf("%s: exit %d, %+v; want no with %s", tc.name, code, a, tc.reason)
		}
	}
}
