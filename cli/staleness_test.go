package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idledger/idledger/cli"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
)

// TestStalenessGateAnswersUnknown: a gate follows the chain with idledger
// verifier run; its peers go away; once the store's age passes
// --max-staleness, verifier check and verify-presentation answer unknown
// (never valid), while every answer shows through which block it knows the
// chain and how old that is.
func TestStalenessGateAnswersUnknown(t *testing.T) {
	e := nodetest.New(t, "stale-test")
	e.StartOptions.Feed = &node.FeedOptions{ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}}
	e.Start(t)
	nodetest.WaitHeight(context.Background(), t, e.URL, 2)
	alice, soft := issueHolder(t, e, "alice")
	ok(t, nil, "attest", "--node", e.URL, "--signer", soft, "--member-key", e.Init.MemberKeyFile,
		"--claim-type", "kyc", "--claim-hash", strings.Repeat("ab", 32))

	rpc := rpcClient(t, e.URL)
	one := int64(1)
	c, err := rpc.Commit(context.Background(), &one)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "gate-store")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var runErr bytes.Buffer
	args := []string{"verifier", "run", "--dir", dir, "--trust-height", "1", "--trust-hash", fmt.Sprintf("%X", c.SignedHeader.Hash()), "--log-level", "error"}
	for _, a := range e.Node.FeedAddrs() {
		args = append(args, "--peer", a)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		var out bytes.Buffer
		cli.Main(ctx, args, &out, &runErr)
	}()
	defer func() { cancel(); wg.Wait() }()

	type checkView struct {
		State           string    `json:"state"`
		VerifiedThrough int64     `json:"verified_through"`
		HeaderTime      time.Time `json:"header_time"`
		AgeSeconds      int64     `json:"age_seconds"`
		Stale           bool      `json:"stale"`
	}
	const maxStaleness = "3s"
	check := func(extra ...string) checkView {
		var v checkView
		code, out, errs := run(t, append([]string{"verifier", "check", "--dir", dir, "--cert", alice.CertPath, "--claim-type", "kyc", "-o", "json"}, extra...)...)
		if code != cli.ExitOK {
			return checkView{State: "error: " + errs}
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("check output %q: %v", out, err)
		}
		return v
	}
	waitCheck := func(what string, cond func(checkView) bool, extra ...string) checkView {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		var v checkView
		for time.Now().Before(deadline) {
			if v = check(extra...); cond(v) {
				return v
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: last answer %+v (verifier run: %s)", what, v, runErr.String())
		return v
	}
	live := waitCheck("valid while following", func(v checkView) bool { return v.State == "valid" && !v.Stale }, "--max-staleness", "1h")
	if live.VerifiedThrough < 1 || live.HeaderTime.IsZero() {
		t.Errorf("answer lacks its freshness: %+v", live)
	}

	presFile := filepath.Join(t.TempDir(), "alice.pres")
	ok(t, nil, "present", "--node", e.URL, "--signer", soft, "--challenge", strings.Repeat("5a", 16), "--audience", "gate-1", "--out", presFile)

	// The peers go away: the node and its feed stop.
	e.Stop(t)
	stale := waitCheck("unknown once stale", func(v checkView) bool { return v.State == "unknown" }, "--max-staleness", maxStaleness)
	if !stale.Stale || stale.AgeSeconds < 3 || stale.VerifiedThrough < live.VerifiedThrough {
		t.Errorf("stale answer = %+v", stale)
	}
	// Without a bound the store still says what it last knew, with its age.
	if v := check(); v.State != "valid" || v.AgeSeconds < 3 {
		t.Errorf("unbounded answer = %+v", v)
	}

	// The gate: no, status_unknown, with the store's freshness.
	code, out, _ := run(t, "verify-presentation", "--presentation", presFile, "--claim-type", "kyc", "--audience", "gate-1",
		"--verifier-dir", dir, "--max-staleness", maxStaleness, "-o", "json")
	var pv struct {
		Accepted        bool   `json:"accepted"`
		Reason          string `json:"reason"`
		VerifiedThrough int64  `json:"verified_through"`
		AgeSeconds      int64  `json:"age_seconds"`
	}
	if err := json.Unmarshal([]byte(out), &pv); err != nil {
		t.Fatalf("verify-presentation output %q: %v", out, err)
	}
	if code == cli.ExitOK || pv.Accepted || pv.Reason != "status_unknown" || pv.VerifiedThrough < 1 || pv.AgeSeconds < 3 {
		t.Errorf("stale gate: exit %d, %+v; want no with status_unknown and the store's age", code, pv)
	}
}
