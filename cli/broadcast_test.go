package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idledger/idledger/cli"
)

// TestOfflineSigningBroadcast signs an attestation, a governance proposal
// and a revocation with --generate-only (no node contacted: the node is not
// even told), broadcasts each file to a real node, and checks the verified
// status; a file changed in one byte, or sent twice, is refused with a code.
func TestOfflineSigningBroadcast(t *testing.T) {
	t.Parallel()
	n := newCLINode(t, "offline", "holder1")
	dir, home, url, opKey, holder := n.Dir, n.Home, n.URL, n.MemberKey, n.Holders["holder1"]
	claim := writeFile(t, dir, "claim.txt", "KYC done")

	// Generated before the node even runs.
	attest := []string{"attest", "--generate-only", "--signer", holder.Signer, "--member-key", opKey,
		"--claim-type", "kyc", "--claim-file", claim}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(attest[:len(attest):len(attest)], "--member", "operator", "--sequence", "0"), "needs --chain-id"},
		{append(attest[:len(attest):len(attest)], "--chain-id", "offline", "--sequence", "0"), "needs --member"},
		{append(attest[:len(attest):len(attest)], "--chain-id", "offline", "--member", "operator"), "needs --sequence"},
		{append(attest[:len(attest):len(attest)], "--chain-id", "offline", "--member", "operator", "--sequence", "0", "--claim-type", "KYC"), "--claim-type"},
	} {
		if code, out, errs := run(t, tc.args...); code != cli.ExitUsage || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("idledger %s: exit %d, stdout %d bytes, stderr %q; want a usage error with %q", strings.Join(tc.args, " "), code, len(out), errs, tc.want)
		}
	}
	write := func(name, data string) string { t.Helper(); return writeFile(t, dir, name, data) }
	attTx := write("attest.bin", ok(t, nil, append(attest, "--chain-id", "offline", "--member", "operator", "--sequence", "0")...))

	newKey := filepath.Join(dir, "bank.pem")
	newMemberKey(t, newKey)
	govTx := write("gov.bin", ok(t, nil, "gov", "propose", "add-member", "--id", "bank-a", "--pub-key-file", newKey, "--roles", "attester",
		"--member-key", opKey, "--generate-only", "--chain-id", "offline", "--member", "operator", "--sequence", "1"))

	// set-validator-power's own --member names the validator's member, so
	// the signer cannot be named offline: a usage error says so.
	if code, _, errs := run(t, "gov", "propose", "set-validator-power", "--member", "bank-a", "--pub-key", strings.Repeat("ab", 32), "--power", "1",
		"--member-key", opKey, "--generate-only", "--chain-id", "offline", "--sequence", "1"); code != cli.ExitUsage || !strings.Contains(errs, "sign it with a node") {
		t.Errorf("offline set-validator-power: exit %d, %q", code, errs)
	}

	startNode(t, home, url)

	// A copy with one byte changed is refused, with a code.
	raw, _ := os.ReadFile(attTx)
	bad := []byte(string(raw))
	bad[len(bad)/2] ^= 0x01
	refused(t, "(code ", "broadcast", write("bad.bin", string(bad)), "--node", url)

	var res struct {
		TxHash string `json:"tx_hash"`
		Height int64  `json:"height"`
		Code   uint32 `json:"code"`
		Events []struct {
			Type       string            `json:"type"`
			Attributes map[string]string `json:"attributes"`
		} `json:"events"`
	}
	ok(t, &res, "broadcast", attTx, "--node", url, "-o", "json")
	attID := ""
	for _, e := range res.Events {
		if e.Type == "attest" {
			attID = e.Attributes["id"]
		}
	}
	if res.Height <= 0 || res.Code != 0 || len(attID) != 24 {
		t.Fatalf("broadcast = %+v", res)
	}
	status := []string{"query", "status", "--node", url, "--cert", holder.Certificate, "--claim-type", "kyc", "--verify", "--home", home, "-o", "json"}
	var st statusJSON
	ok(t, &st, status...)
	if st.State != "valid" || !st.Verified || st.Attestation == nil || st.Attestation.ID != attID {
		t.Errorf("status after the offline attestation = %+v", st)
	}
	// The same file again: refused, never applied twice.
	refused(t, "", "broadcast", attTx, "--node", url)

	text := ok(t, nil, "broadcast", govTx, "--node", url)
	if !strings.Contains(text, "committed at height") {
		t.Errorf("broadcast text:\n%s", text)
	}
	var members []struct{ ID string }
	ok(t, &members, "query", "members", "--node", url, "-o", "json")
	if len(members) != 2 {
		t.Errorf("members after the offline proposal = %+v", members)
	}

	revTx := write("revoke.bin", ok(t, nil, "revoke", "attestation", attID, "--reason", "withdrawn", "--member-key", opKey,
		"--generate-only", "--chain-id", "offline", "--member", "operator", "--sequence", "2"))
	ok(t, nil, "broadcast", revTx, "--node", url)
	ok(t, &st, status...)
	if st.State != "revoked" || !st.Verified {
		t.Errorf("status after the offline revocation = %+v", st)
	}

	// revoke subjects: one transaction, at the --effective time.
	subjects := []string{"revoke", "subjects", "--subject", holder.Subject, "--reason", "card reported lost", "--member-key", opKey,
		"--generate-only", "--chain-id", "offline", "--member", "operator", "--sequence", "3"}
	if code, _, errs := run(t, subjects...); code != cli.ExitUsage || !strings.Contains(errs, "--effective") {
		t.Errorf("offline revoke subjects without --effective: exit %d, %q", code, errs)
	}
	subTx := write("subjects.bin", ok(t, nil, append(subjects, "--effective", time.Now().Add(-time.Minute).Format(time.RFC3339))...))
	res.Events = nil
	ok(t, &res, "broadcast", subTx, "--node", url, "-o", "json")
	revoked := ""
	for _, e := range res.Events {
		if e.Type == "revoke_subjects" {
			revoked = e.Attributes["revoked"]
		}
	}
	if revoked != "1" {
		t.Errorf("offline revoke subjects broadcast = %+v, want 1 subject revoked", res)
	}
}
