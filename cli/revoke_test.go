package cli_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/cli"
	"github.com/idledger/idledger/client"
)

type revocationJSON struct {
	Reason string `json:"reason"`
	By     string `json:"by"`
	Height int64  `json:"height"`
}

type revStatusJSON struct {
	State       string          `json:"state"`
	Verified    bool            `json:"verified"`
	Revocation  *revocationJSON `json:"revocation"`
	Attestation *struct {
		ID string `json:"id"`
	} `json:"attestation"`
}

// TestRevocationAndGovernance runs one node and, through the CLI, adds
// members by governance, revokes attestations three ways (attester,
// revoker, subject), revokes subjects from a test-CA CRL with an
// interruption and a resume, checks verified statuses (revoked, reason,
// revoker, height), that no CRL bytes reach the chain, voting at a
// threshold of two, and that a removed member can no longer attest.
func TestRevocationAndGovernance(t *testing.T) {
	t.Parallel()
	n := newCLINode(t, "revoke-test", "h1", "h2", "h3", "c1", "c2", "c3", "c4", "c5", "c6")
	dir, ca, home, url, opKey, holders := n.Dir, n.CA, n.Home, n.URL, n.MemberKey, n.Holders
	startNode(t, home, url)

	claim := writeFile(t, dir, "claim.txt", "KYC done")
	attest := func(h string) string {
		t.Helper()
		var a struct{ ID string }
		ok(t, &a, "attest", "--node", url, "--member-key", opKey, "--claim-type", "kyc", "--claim-file", claim,
			"--signer", holders[h].Signer, "-o", "json")
		return a.ID
	}
	status := func(h string) revStatusJSON {
		t.Helper()
		var st revStatusJSON
		ok(t, &st, "query", "status", "--node", url, "--cert", holders[h].Certificate, "--claim-type", "kyc",
			"--verify", "--home", home, "-o", "json")
		if !st.Verified {
			t.Errorf("status of %s not verified: %+v", h, st)
		}
		return st
	}

	// Governance at threshold 1: the operator adds a revoker and a clerk
	// (attester only); each proposal executes in its own block.
	revKey, clerkKey := filepath.Join(dir, "rev1.pem"), filepath.Join(dir, "clerk.pem")
	newMemberKey(t, revKey)
	newMemberKey(t, clerkKey)
	gov := []string{"--node", url, "--member-key", opKey, "-o", "json"}
	var p proposalJSON
	ok(t, &p, append([]string{"gov", "propose", "add-member", "--id", "rev1", "--pub-key-file", revKey, "--roles", "revoker"}, gov...)...)
	if p.Status != "executed" || p.Action != "add-member" || len(p.Votes) != 1 || p.Votes[0] != "operator" {
		t.Errorf("add-member rev1 = %+v", p)
	}
	ok(t, &p, append([]string{"gov", "propose", "add-member", "--id", "clerk", "--pub-key-file", clerkKey, "--roles", "attester"}, gov...)...)
	if p.Status != "executed" {
		t.Errorf("add-member clerk = %+v", p)
	}
	// The clerk may attest kyc too.
	ok(t, nil, append([]string{"gov", "propose", "register-claim-type", "--name", "kyc", "--attester", "operator,clerk", "--max-validity", "8760h"}, gov...)...)
	var q proposalJSON
	ok(t, &q, "query", "proposal", fmt.Sprint(p.ID), "--node", url, "-o", "json")
	if q.ID != p.ID || q.Status != "executed" || q.Action != "add-member" {
		t.Errorf("query proposal %d = %+v", p.ID, q)
	}
	// A malformed action is a usage error, caught before anything is sent.
	if code, _, errs := run(t, append([]string{"gov", "propose", "set-roles", "clerk", "--roles", "boss"}, gov...)...); code != cli.ExitUsage || !strings.Contains(errs, `"boss" is not a role`) {
		t.Errorf("set-roles boss: exit %d, %q", code, errs)
	}

	// Revoke three ways.
	id1, id2, id3 := attest("h1"), attest("h2"), attest("h3")
	revoke := []string{"revoke", "attestation", "--node", url, "-o", "json"}
	type revokeOut struct {
		ID     string `json:"id"`
		Height int64  `json:"height"`
		By     string `json:"by"`
	}
	var r1, r2, r3 revokeOut
	// The clerk is neither the attester nor a revoker.
	refused(t, "(code 52)", append(revoke, id1, "--reason", "x", "--member-key", clerkKey)...)
	// The attester.
	ok(t, &r1, append(revoke, id1, "--reason", "withdrawn by the attester", "--member-key", opKey)...)
	// A revoker, named explicitly.
	ok(t, &r2, append(revoke, id2, "--reason", "fraud suspected", "--member-key", revKey, "--member", "rev1")...)
	// Not the subject of id3: h1's certificate.
	refused(t, "(code 52)", append(revoke, id3, "--reason", "x", "--signer", holders["h1"].Signer)...)
	// The subject.
	ok(t, &r3, append(revoke, id3, "--reason", "lost my card", "--signer", holders["h3"].Signer)...)
	refused(t, "(code 51)", append(revoke, id3, "--reason", "again", "--member-key", opKey)...)
	refused(t, "(code 50)", append(revoke, "0000000000000fff00000000", "--reason", "x", "--member-key", opKey)...)
	// A holder's revocation that cannot apply is refused before the holder's
	// signer is opened: these key and certificate files do not exist.
	absent := "soft:" + filepath.Join(dir, "absent.key") + "," + filepath.Join(dir, "absent.crt")
	refused(t, "was revoked at height", append(revoke, id3, "--reason", "again", "--signer", absent)...)
	refused(t, "no attestation 0000000000000fff00000000 (code 50)", append(revoke, "0000000000000fff00000000", "--reason", "x", "--signer", absent)...)
	if code, _, errs := run(t, append(revoke, id1, "--reason", "x", "--member-key", opKey, "--signer", holders["h1"].Signer)...); code != cli.ExitUsage || !strings.Contains(errs, "not both") {
		t.Errorf("both signers: exit %d, %q", code, errs)
	}
	for _, c := range []struct {
		h, id, reason, by string
		r                 revokeOut
	}{
		{"h1", id1, "withdrawn by the attester", "operator", r1},
		{"h2", id2, "fraud suspected", "rev1", r2},
		{"h3", id3, "lost my card", chain.BySubject, r3},
	} {
		if c.r.ID != c.id || c.r.By != c.by || c.r.Height <= 0 {
			t.Errorf("revoke %s = %+v, want id %s by %s", c.h, c.r, c.id, c.by)
		}
		st := status(c.h)
		if st.State != "revoked" || st.Revocation == nil || st.Revocation.Reason != c.reason || st.Revocation.By != c.by ||
			st.Revocation.Height != c.r.Height || st.Attestation == nil || st.Attestation.ID != c.id {
			t.Errorf("status of %s = %+v (revocation %+v), want revoked by %s at height %d: %q", c.h, st, st.Revocation, c.by, c.r.Height, c.reason)
		}
	}

	// Revoke subjects from a CRL, in batches of two.
	ok(t, &p, append([]string{"gov", "propose", "set-params", "--max-revocations-per-tx", "2"}, gov...)...)
	if p.Status != "executed" {
		t.Fatalf("set-params = %+v", p)
	}
	for _, h := range []string{"c1", "c2", "c3", "c4", "c5", "c6"} {
		attest(h)
	}
	for _, h := range []string{"c1", "c2", "c3", "c4", "c5"} {
		ok(t, nil, "ca", "revoke", "--dir", ca, "--name", h)
	}
	refused(t, "already revoked", "ca", "revoke", "--dir", ca, "--name", "c1")
	crlFile := filepath.Join(dir, "jlis.crl")
	var crlRes struct{ Revoked int }
	ok(t, &crlRes, "ca", "crl", "--dir", ca, "--out", crlFile, "-o", "json")
	if crlRes.Revoked != 5 {
		t.Fatalf("ca crl = %+v", crlRes)
	}
	subjects := []string{"revoke", "subjects", "--node", url, "--crl", crlFile, "--issuer", filepath.Join(ca, "ca.crt"),
		"--reason", "test CRL 1", "--member-key", revKey}

	// A CRL signed by another CA is refused before anything is sent.
	other := filepath.Join(dir, "other-ca")
	ok(t, nil, "ca", "init", "--dir", other)
	refused(t, "not signed by", "revoke", "subjects", "--node", url, "--crl", crlFile, "--issuer", filepath.Join(other, "ca.crt"),
		"--reason", "x", "--member-key", revKey)

	// Interrupt after the first batch of three, as Ctrl-C would.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	errw := &watchWriter{want: "batch 1/3", hit: cancel}
	if code := cli.Main(ctx, subjects, &out, errw); code != cli.ExitFailure {
		t.Fatalf("interrupted revoke subjects: exit %d\n%s", code, errw.String())
	}
	if s := errw.String(); !strings.Contains(s, "1 of 3 batches committed") || !strings.Contains(s, "run the command again") {
		t.Errorf("interrupted revoke subjects said:\n%s", s)
	}
	stateFile := crlFile + ".progress.json"
	st, err := client.ReadRevocationState(stateFile)
	if err != nil || st == nil || len(st.Committed) != 1 || st.Committed[0].Batch != 1 || st.Batches != 3 {
		t.Fatalf("progress after the interruption = %+v, %v", st, err)
	}

	// Resume: batch 1 is skipped, 2 and 3 are sent.
	type batchedJSON struct {
		Subjects, Batches, Skipped, Submitted, Revoked int
		AlreadyRevoked                                 int    `json:"already_revoked"`
		StateFile                                      string `json:"state_file"`
	}
	var b batchedJSON
	code, stdout, stderr := run(t, append(subjects, "-o", "json")...)
	if code != cli.ExitOK {
		t.Fatalf("resumed revoke subjects: exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &b); err != nil {
		t.Fatal(err)
	}
	if b.Subjects != 5 || b.Batches != 3 || b.Skipped != 1 || b.Submitted != 2 || b.Revoked != 3 || b.AlreadyRevoked != 0 {
		t.Errorf("resumed revoke subjects = %+v", b)
	}
	if !strings.Contains(stderr, "batch 1/3: 2 commitments, committed earlier") || !strings.Contains(stderr, "batch 3/3: 1 commitments committed") {
		t.Errorf("progress of the resumed run:\n%s", stderr)
	}
	// Again: nothing left to send.
	ok(t, &b, append(subjects, "-o", "json", "--quiet")...)
	if b.Skipped != 3 || b.Submitted != 0 {
		t.Errorf("third revoke subjects = %+v", b)
	}
	// Without the progress file the chain skips what it has.
	ok(t, &b, append(subjects, "-o", "json", "--quiet", "--state", filepath.Join(dir, "fresh.json"))...)
	if b.Submitted != 3 || b.Revoked != 0 || b.AlreadyRevoked != 5 {
		t.Errorf("revoke subjects with a fresh progress file = %+v", b)
	}

	for _, h := range []string{"c1", "c2", "c3", "c4", "c5"} {
		st := status(h)
		if st.State != "revoked" || st.Revocation == nil || st.Revocation.Reason != "test CRL 1" || st.Revocation.By != "rev1" || st.Revocation.Height <= 0 {
			t.Errorf("status of %s = %+v (revocation %+v)", h, st, st.Revocation)
		}
	}
	if st := status("c6"); st.State != "valid" {
		t.Errorf("status of the unrevoked c6 = %+v", st)
	}
	refused(t, "(code 40)", "attest", "--node", url, "--member-key", opKey, "--claim-type", "kyc", "--claim-file", claim,
		"--signer", holders["c2"].Signer)

	// revoke subjects by certificate and by commitment.
	b = batchedJSON{}
	ok(t, &b, "revoke", "subjects", "--node", url, "--cert", holders["h1"].Certificate, "--subject", holders["h2"].Subject,
		"--reason", "x", "--member-key", revKey, "-o", "json")
	if b.Subjects != 2 || b.Submitted != 1 || b.Revoked != 2 || b.StateFile != "" {
		t.Errorf("revoke subjects --cert --subject = %+v", b)
	}

	// Nothing of the CRL reached the chain: not the CRL, its signed part,
	// its signature, any serial number; and each commitment went out in
	// exactly one RevokeSubjects transaction before the fresh-state run.
	crlDER, err := os.ReadFile(crlFile)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(crlDER)
	if err != nil {
		t.Fatal(err)
	}
	forbidden := [][]byte{crlDER, crl.RawTBSRevocationList, crl.Signature}
	for _, e := range crl.RevokedCertificateEntries {
		forbidden = append(forbidden, e.SerialNumber.Bytes())
	}
	sent := map[string]int{}
	revokeSubjectsTxs := 0
	for i, raw := range chainTxs(t, url) {
		tx, err := chain.DecodeTx(raw, "revoke-test")
		if err != nil {
			t.Fatal(err)
		}
		if rs, ok := tx.Body.Msg.(*chainpb.TxBody_RevokeSubjects); ok && rs.RevokeSubjects.Reason == "test CRL 1" {
			revokeSubjectsTxs++
			for j, f := range forbidden {
				if bytes.Contains(raw, f) {
					t.Errorf("RevokeSubjects transaction %d contains CRL bytes (item %d)", i, j)
				}
			}
			for _, c := range rs.RevokeSubjects.Commitments {
				sent[hex.EncodeToString(c)]++
			}
		}
	}
	if revokeSubjectsTxs != 6 { // 1 interrupted run + 2 resumed + 3 with a fresh state file
		t.Errorf("%d RevokeSubjects transactions, want 6", revokeSubjectsTxs)
	}
	for _, h := range []string{"c1", "c2", "c3", "c4", "c5"} {
		if n := sent[holders[h].Subject]; n != 2 { // once by the first two runs, once by the fresh-state run
			t.Errorf("commitment of %s sent %d times, want 2", h, n)
		}
	}

	// Threshold two: a second governor, then proposals need a vote.
	gov2Key := filepath.Join(dir, "gov2.pem")
	newMemberKey(t, gov2Key)
	ok(t, &p, append([]string{"gov", "propose", "add-member", "--id", "gov2", "--pub-key-file", gov2Key, "--roles", "governor"}, gov...)...)
	ok(t, &p, append([]string{"gov", "propose", "set-params", "--governor-threshold", "2"}, gov...)...)
	if p.Status != "executed" {
		t.Fatalf("set-params threshold 2 = %+v", p)
	}
	ok(t, &p, append([]string{"gov", "propose", "remove-member", "clerk"}, gov...)...)
	if p.Status != "open" || len(p.Votes) != 1 {
		t.Fatalf("remove-member clerk at threshold 2 = %+v", p)
	}
	var open []proposalJSON
	ok(t, &open, "query", "proposals", "--open", "--node", url, "-o", "json")
	if len(open) != 1 || open[0].ID != p.ID {
		t.Errorf("open proposals = %+v", open)
	}
	refused(t, "(code 62)", "gov", "vote", fmt.Sprint(p.ID), "--node", url, "--member-key", opKey)
	refused(t, "(code 6)", "gov", "vote", fmt.Sprint(p.ID), "--node", url, "--member-key", clerkKey)
	// The clerk can still attest before the vote.
	ok(t, nil, "attest", "--node", url, "--member-key", clerkKey, "--claim-type", "kyc", "--claim-file", claim, "--signer", holders["c6"].Signer)
	var v proposalJSON
	ok(t, &v, "gov", "vote", fmt.Sprint(p.ID), "--node", url, "--member-key", gov2Key, "-o", "json")
	if v.ID != p.ID || v.Status != "executed" || len(v.Votes) != 2 {
		t.Errorf("vote = %+v", v)
	}
	refused(t, "(code 61)", "gov", "vote", fmt.Sprint(p.ID), "--node", url, "--member-key", gov2Key)
	// Removed: its key no longer names a member.
	refused(t, "not found", "attest", "--node", url, "--member-key", clerkKey, "--claim-type", "kyc", "--claim-file", claim, "--signer", holders["c6"].Signer)
	refused(t, `member "clerk": not found`, "attest", "--node", url, "--member-key", clerkKey, "--member", "clerk", "--claim-type", "kyc", "--claim-file", claim, "--signer", holders["c6"].Signer)
}

// watchWriter collects what is written and calls hit once when want first
// appears.
type watchWriter struct {
	mu   sync.Mutex
	b    bytes.Buffer
	want string
	hit  func()
	done bool
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	if !w.done && strings.Contains(w.b.String(), w.want) {
		w.done = true
		w.hit()
	}
	return n, err
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// chainTxs returns every transaction in the node's blocks.
func chainTxs(t *testing.T, url string) [][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := rpcClient(t, url)
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for h := int64(1); h <= st.SyncInfo.LatestBlockHeight; h++ {
		b, err := c.Block(ctx, &h)
		if err != nil {
			t.Fatalf("block %d: %v", h, err)
		}
		for _, tx := range b.Block.Txs {
			out = append(out, tx)
		}
	}
	return out
}
