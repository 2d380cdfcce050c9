package explorer_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/explorer"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/testca"
)

// chromium returns the headless Chromium to test with, or skips the test
// (fails it when IDLEDGER_REQUIRE_CHROMIUM=1, as in CI).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("IDLEDGER_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("IDLEDGER_REQUIRE_CHROMIUM=1 but no /usr/bin/chromium (Debian: apt-get install chromium)")
	}
	t.Skip("no /usr/bin/chromium (Debian: apt-get install chromium); IDLEDGER_REQUIRE_CHROMIUM=1 makes this a failure")
	return ""
}

// dumpDOM loads url in headless Chromium and returns the DOM it built.
func dumpDOM(t *testing.T, bin, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--dump-dom", url)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, stderr.String())
	}
	return string(out)
}

// text returns the text of the element with id in dom, tags stripped.
func text(t *testing.T, dom, id string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<[a-z0-9]+ [^>]*id="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</`)
	m := re.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no element #%s in:\n%s", id, dom)
	}
	return strings.TrimSpace(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(m[1], ""))
}

func want(t *testing.T, dom, id, value string) {
	t.Helper()
	if got := text(t, dom, id); got != value {
		t.Errorf("#%s = %q, want %q", id, got, value)
	}
}

// TestExplorerInChromium runs a real node with two attestations (one
// revoked), a second governor and an open proposal, serves the explorer
// over it, and loads every page in headless Chromium.
func TestExplorerInChromium(t *testing.T) {
	bin := chromium(t)
	e := nodetest.New(t, "explorer-test")
	e.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	doc, err := cmttypes.GenesisDocFromFile(e.Init.GenesisFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(e.URL, client.WithGenesis(doc), client.WithPollInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	attest := func(name string) (*testca.Holder, []byte) { return e.Attest(ctx, t, c, name, "kyc") }
	alice, aliceID := attest("alice")
	bob, bobID := attest("bob")
	auth := client.MemberAuth{Key: e.MemberKey}
	if _, err := c.RevokeAttestation(ctx, client.RevokeAttestationRequest{ID: bobID, Reason: "card reported lost", Member: &auth}); err != nil {
		t.Fatal(err)
	}
	// A second governor and a threshold of two leave the next proposal open.
	_, k2, _ := ed25519.GenerateKey(rand.Reader)
	for _, a := range []*chainpb.GovAction{
		{Action: &chainpb.GovAction_AddMember{AddMember: &chainpb.Member{Id: "gov2", PubKey: k2.Public().(ed25519.PublicKey), Roles: []string{chain.RoleGovernor}}}},
		{Action: &chainpb.GovAction_SetParams{SetParams: func() *chainpb.Params {
			p, err := c.Params(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p.GovernorThreshold = 2
			return p
		}()}},
		{Action: &chainpb.GovAction_RetireClaimType{RetireClaimType: "ticket"}},
	} {
		if _, err := c.Propose(ctx, auth, a); err != nil {
			t.Fatal(err)
		}
	}

	srvClient, err := client.New(e.URL, client.WithGenesis(doc), client.WithPollInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := explorer.New(srvClient, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ex) // 127.0.0.1
	defer srv.Close()

	// The network page.
	dom := dumpDOM(t, bin, srv.URL+"/")
	want(t, dom, "chain-id", "explorer-test")
	want(t, dom, "header-verified", "yes")
	want(t, dom, "count-attestations", "2")
	want(t, dom, "count-revoked", "1")
	want(t, dom, "count-subject-revocations", "0")
	want(t, dom, "count-open-proposals", "1")
	want(t, dom, "total-power", "10")
	for _, s := range []string{`<td class="member-id">operator</td>`, `<td class="member-id">gov2</td>`,
		`<td class="claim-type-name">kyc</td>`, `<td class="claim-type-name">fare-eligibility</td>`, `<td class="power">10</td>`} {
		if !strings.Contains(dom, s) {
			t.Errorf("network page lacks %s", s)
		}
	}

	// The revoked attestation by ID, and a status lookup of it.
	dom = dumpDOM(t, bin, srv.URL+"/attestation?id="+hex.EncodeToString(bobID))
	want(t, dom, "state", "revoked")
	want(t, dom, "proof-verified", "yes")
	want(t, dom, "attester", "operator")
	if !strings.Contains(text(t, dom, "revocation"), "card reported lost") {
		t.Errorf("revocation = %q", text(t, dom, "revocation"))
	}
	subject := func(h *testca.Holder) string {
		s, err := client.SubjectOf(h.CertDER)
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(s)
	}
	dom = dumpDOM(t, bin, srv.URL+"/status?subject="+subject(bob)+"&claim_type=kyc")
	want(t, dom, "state", "revoked")
	want(t, dom, "header-verified", "yes")
	want(t, dom, "proof-verified", "yes")
	want(t, dom, "registry-attesters", "operator")
	dom = dumpDOM(t, bin, srv.URL+"/status?subject="+subject(alice)+"&claim_type=kyc")
	want(t, dom, "state", "valid")
	want(t, dom, "attester", "operator")
	want(t, dom, "attestation-link", hex.EncodeToString(aliceID))
	want(t, dom, "registry-state", "active")
	want(t, dom, "proof-verified", "yes")

	// The block of alice's attestation.
	h := int64(binary.BigEndian.Uint64(aliceID[:8]))
	dom = dumpDOM(t, bin, fmt.Sprintf("%s/block?height=%d", srv.URL, h))
	want(t, dom, "block-height", fmt.Sprint(h))
	want(t, dom, "header-verified", "yes")
	want(t, dom, "data-verified", "yes")
	if !strings.Contains(dom, `<td class="tx-kind">attest</td>`) {
		t.Errorf("block %d lists no attest transaction:\n%s", h, dom)
	}
	if strings.Contains(dom, "BEGIN CERTIFICATE") || strings.Contains(dom, hex.EncodeToString(alice.CertDER[:32])) {
		t.Error("the block page shows a certificate")
	}

	// Open proposals.
	dom = dumpDOM(t, bin, srv.URL+"/proposals")
	if !strings.Contains(dom, `<td class="proposal-action">retire_claim_type</td>`) {
		t.Errorf("proposals page:\n%s", dom)
	}

	// A bad input is refused, in the page.
	dom = dumpDOM(t, bin, srv.URL+"/status?subject=Taro+Yamada&claim_type=kyc")
	if !strings.Contains(text(t, dom, "error"), "identity commitment is 64 hex digits") {
		t.Errorf("status with a name: %q", text(t, dom, "error"))
	}
}

// TestExplorerRefusesInput: only GET, only well-formed heights, IDs,
// commitments and claim types; nothing reaches the node otherwise.
func TestExplorerRefusesInput(t *testing.T) {
	c, err := client.New("http://127.0.0.1:1") // never reached
	if err != nil {
		t.Fatal(err)
	}
	ex, err := explorer.New(c, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ex)
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"POST", "/status", http.StatusMethodNotAllowed, "read-only"},
		{"GET", "/status?subject=123456789018&claim_type=kyc", http.StatusBadRequest, "64 hex digits"},
		{"GET", "/status?subject=" + strings.Repeat("ab", 32) + "&claim_type=Bad+Type", http.StatusBadRequest, "claim type"},
		{"GET", "/attestation?id=xyz", http.StatusBadRequest, "24 hex digits"},
		{"GET", "/block?height=-1", http.StatusBadRequest, "positive block number"},
		{"GET", "/block?height=1%3Cscript%3E", http.StatusBadRequest, "1&lt;script&gt;"},
		{"GET", "/nowhere", http.StatusNotFound, "no such page"},
		{"GET", "/style.css", http.StatusOK, "font-family"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = io.Copy(&b, res.Body)
		res.Body.Close()
		if res.StatusCode != tc.code || !strings.Contains(b.String(), tc.body) {
			t.Errorf("%s %s: %d %q, want %d with %q", tc.method, tc.path, res.StatusCode, b.String(), tc.code, tc.body)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: CSP %q", tc.path, csp)
		}
	}
}

// FuzzExplorerQuery: whatever the path and query, the explorer answers a
// page (no panic), refuses what is not well-formed with 400 or 404, and
// never echoes markup unescaped.
func FuzzExplorerQuery(f *testing.F) {
	c, err := client.New("http://127.0.0.1:1") // never answers
	if err != nil {
		f.Fatal(err)
	}
	ex, err := explorer.New(c, time.Second)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"/status?subject=ab&claim_type=kyc", "/block?height=<b>x</b>", "/attestation?id=00", "/", "/proposals", "/x<script>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t#") {
			return
		}
		req, err := http.NewRequest("GET", "http://explorer"+target, nil)
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		ex.ServeHTTP(rec, req)
		if rec.Code == 0 {
			t.Fatal("no status")
		}
		if strings.Contains(rec.Body.String(), "<script") {
			t.Fatalf("%s: unescaped markup in\n%s", target, rec.Body.String())
		}
	})
}
