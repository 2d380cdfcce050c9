package cli_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/cli"
	"github.com/idledger/idledger/node/nodetest"
)

type statusJSON struct {
	State       string `json:"state"`
	Subject     string `json:"subject"`
	Height      int64  `json:"height"`
	Verified    bool   `json:"verified"`
	AppHash     string `json:"app_hash"`
	Attestation *struct {
		ID       string `json:"id"`
		Attester string `json:"attester"`
	} `json:"attestation"`
	Trust *struct {
		Source string `json:"source"`
		Height int64  `json:"height"`
	} `json:"trust"`
}

// TestQuickstart walks the README's path through the CLI against one real
// node: a test CA and holders, init, start, attest, a verified status,
// refusals with their codes, then a restart that keeps the state.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	dir := nodetest.TempDir(t)
	ca, ca2, home := filepath.Join(dir, "ca"), filepath.Join(dir, "ca2"), filepath.Join(dir, "node")
	rpcAddr, p2pAddr := nodetest.FreeAddr(t), nodetest.FreeAddr(t)
	url := "http://" + rpcAddr

	var caRes struct{ Certificate, Kind string }
	ok(t, &caRes, "ca", "init", "--dir", ca, "-o", "json")
	if caRes.Kind != "auth" || caRes.Certificate != filepath.Join(ca, "ca.crt") {
		t.Errorf("ca init = %+v", caRes)
	}
	var holder struct{ Certificate, Key, Subject, Signer string }
	ok(t, &holder, "ca", "issue", "--dir", ca, "--name", "holder1", "-o", "json")
	var old, short, stranger struct{ Signer string }
	ok(t, &old, "ca", "issue", "--dir", ca, "--name", "old-card", "--expired", "-o", "json")
	ok(t, &short, "ca", "issue", "--dir", ca, "--name", "short-card", "--valid-for", "48h", "-o", "json")
	ok(t, nil, "ca", "init", "--dir", ca2)
	ok(t, &stranger, "ca", "issue", "--dir", ca2, "--name", "stranger", "-o", "json")

	var initRes struct {
		ChainID       string `json:"chain_id"`
		MemberID      string `json:"member_id"`
		MemberKeyFile string `json:"member_key_file"`
		RPCURL        string `json:"rpc_url"`
	}
	ok(t, &initRes, "init", "--home", home, "--chain-id", "quickstart", "--anchor", caRes.Certificate,
		"--rpc-addr", rpcAddr, "--p2p-addr", p2pAddr, "--fast", "-o", "json")
	if initRes.ChainID != "quickstart" || initRes.MemberID != "operator" || initRes.RPCURL != url {
		t.Errorf("init = %+v", initRes)
	}
	refused(t, "refusing to overwrite", "init", "--home", home, "--chain-id", "again", "--anchor", caRes.Certificate)

	stop := startNode(t, home, url)

	claim := writeFile(t, dir, "claim.txt", "KYC done 2026-05-01, ref 123")
	attest := []string{"attest", "--node", url, "--member-key", initRes.MemberKeyFile, "--claim-type", "kyc", "--claim-file", claim}
	var att struct {
		ID       string `json:"id"`
		Height   int64  `json:"height"`
		Subject  string `json:"subject"`
		Attester string `json:"attester"`
	}
	ok(t, &att, append(attest, "--signer", holder.Signer, "-o", "json")...)
	if len(att.ID) != 24 || att.Height <= 0 || att.Subject != holder.Subject || att.Attester != "operator" {
		t.Errorf("attest = %+v", att)
	}

	status := []string{"query", "status", "--cert", holder.Certificate, "--claim-type", "kyc", "--verify", "--home", home, "-o", "json"}
	var st statusJSON
	ok(t, &st, status...)
	if st.State != "valid" || !st.Verified || st.Subject != holder.Subject || st.Attestation == nil || st.Attestation.ID != att.ID ||
		st.Trust == nil || st.Trust.Source != "genesis file" || st.Trust.Height != 1 || st.Height < att.Height {
		t.Errorf("status = %+v", st)
	}
	var none statusJSON
	ok(t, &none, "query", "status", "--node", url, "--subject", holder.Subject, "--claim-type", "student-fare", "--verify", "--home", home, "-o", "json")
	if none.State != "none" || !none.Verified {
		t.Errorf("status of an absent claim = %+v", none)
	}
	text := ok(t, nil, "query", "status", "--node", url, "--cert", holder.Certificate, "--claim-type", "kyc")
	if !strings.HasPrefix(text, "valid\n") || !strings.Contains(text, "not verified") {
		t.Errorf("text status:\n%s", text)
	}

	// Refusals: each its own code, one line, exit 1.
	refused(t, "(code 2)", append(attest, "--signer", holder.Signer, "--chain-id", "other-chain")...)
	refused(t, "certificate expired at", append(attest, "--signer", old.Signer, "--not-after", time.Now().Add(time.Hour).Format(time.RFC3339))...)
	refused(t, "(code 22)", append(attest, "--signer", old.Signer)...)
	refused(t, "(code 24)", append(attest, "--signer", stranger.Signer)...)
	refused(t, "(code 41)", append(attest, "--signer", short.Signer, "--not-after", time.Now().Add(240*time.Hour).Format(time.RFC3339))...)
	// Past kyc's maximum validity: refused before the holder is asked.
	refused(t, "(code 73)", append(attest, "--signer", holder.Signer, "--not-after", "2099-01-01T00:00:00Z")...)
	refused(t, `member "nobody": not found`, append(attest, "--signer", holder.Signer, "--member", "nobody")...)
	if code, _, errs := run(t, append(attest, "--signer", holder.Signer, "--claim-hash", "abcd")...); code != cli.ExitUsage || !strings.Contains(errs, "not both") {
		t.Errorf("both claim flags: exit %d, %q", code, errs)
	}

	var members []struct {
		ID       string `json:"id"`
		Sequence uint64 `json:"sequence"`
	}
	ok(t, &members, "query", "members", "--node", url, "-o", "json")
	if len(members) != 1 || members[0].ID != "operator" || members[0].Sequence != 1 {
		t.Errorf("members = %+v", members)
	}
	var a struct {
		Subject   string `json:"subject"`
		ClaimType string `json:"claim_type"`
	}
	ok(t, &a, "query", "attestation", att.ID, "--node", url, "-o", "json")
	if a.Subject != holder.Subject || a.ClaimType != "kyc" {
		t.Errorf("attestation = %+v", a)
	}
	var params struct {
		MaxAttestationLifetime string `json:"max_attestation_lifetime"`
		GovernorThreshold      uint32 `json:"governor_threshold"`
		MaxRevocationsPerTx    uint32 `json:"max_revocations_per_tx"`
	}
	ok(t, &params, "query", "params", "--node", url, "-o", "json")
	if params.MaxAttestationLifetime != "8760h0m0s" || params.GovernorThreshold != 1 || params.MaxRevocationsPerTx != 256 {
		t.Errorf("params = %+v", params)
	}
	if text := ok(t, nil, "query", "params", "--node", url); !strings.Contains(text, "max attestation lifetime:   8760h0m0s\n") {
		t.Errorf("text params:\n%s", text)
	}
	ok(t, nil, "query", "anchors", "--node", url, "-o", "json")

	// Stop and restart: the block after the attestation keeps its app hash,
	// and the attestation is still valid.
	h := att.Height + 1
	before := blockAppHash(t, url, h)
	stop()
	startNode(t, home, url)
	if after := blockAppHash(t, url, h); after != before {
		t.Errorf("app hash of block %d: %s before the restart, %s after", h, before, after)
	}
	var st2 statusJSON
	ok(t, &st2, status...)
	if st2.State != "valid" || !st2.Verified || st2.Height <= st.Height {
		t.Errorf("status after restart = %+v (before: %+v)", st2, st)
	}
}

func blockAppHash(t *testing.T, url string, h int64) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodetest.WaitHeight(ctx, t, url, h)
	c := rpcClient(t, url)
	b, err := c.Block(ctx, &h)
	if err != nil {
		t.Fatal(err)
	}
	return b.Block.AppHash.String()
}

// TestUsage checks exit statuses and messages of command-line mistakes, and
// that every command's help renders.
func TestUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"attest"}, "--signer is required"},
		{[]string{"init", "--home", t.TempDir()}, "--chain-id is required"},
		{[]string{"query", "status", "--claim-type", "kyc"}, "give --cert or --subject"},
		{[]string{"query", "status", "--subject", "12", "--claim-type", "kyc"}, "--subject"},
		{[]string{"query", "status", "--subject", strings.Repeat("ab", 32), "--claim-type", "kyc", "--genesis", "g.json"}, "only with --verify"},
		{[]string{"query", "attestation"}, "accepts 1 arg"},
		{[]string{"query", "attestation", "xyz"}, "24 hex digits"},
		{[]string{"version", "-o", "yaml"}, "want text or json"},
		{[]string{"ca", "init", "--dir", t.TempDir(), "--kind", "odd"}, "unknown certificate kind"},
		{[]string{"version", "--bogus"}, "unknown flag"},
	} {
		code, out, errs := run(t, tc.args...)
		if code != cli.ExitUsage || out != "" || !strings.HasPrefix(errs, "idledger: ") || !strings.Contains(errs, tc.want) {
			t.Errorf("idledger %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", strings.Join(tc.args, " "), code, out, errs, tc.want)
		}
	}

	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		args := append(strings.Fields(c.CommandPath())[1:], "--help")
		code, out, _ := run(t, args...)
		if code != cli.ExitOK || !strings.Contains(out, "Usage:") {
			t.Errorf("idledger %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
		if c.Runnable() && c.Long == "" && c.Short == "" {
			t.Errorf("%s has no help text", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cli.NewRootCommand())

	var v struct{ Version, CometBFT string }
	ok(t, &v, "version", "-o", "json")
	if v.Version == "" || v.CometBFT == "" {
		t.Errorf("version = %+v", v)
	}
}
