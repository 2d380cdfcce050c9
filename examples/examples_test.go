// The relying-party examples, each run as its own program against a real
// testnet made and started the way "idledger testnet up" does (testnet.Init,
// then the nodes as idledger processes).
package examples_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/signer"
	"github.com/idledger/idledger/testca"
	"github.com/idledger/idledger/testnet"
)

// The world the examples run in, made once by TestMain.
var (
	bin        = map[string]string{} // program name -> built executable
	rpcURL     string
	genesis    string
	holders    string
	trustHash  string
	setupError error
)

func TestMain(m *testing.M) {
	os.Exit(mainWithTestnet(m))
}

func mainWithTestnet(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "idledger-examples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	for name, pkg := range map[string]string{
		"idledger":      "github.com/idledger/idledger/cmd/idledger",
		"ekyc-bank":     "github.com/idledger/idledger/examples/ekyc-bank",
		"event-gate":    "github.com/idledger/idledger/examples/event-gate",
		"fare-discount": "github.com/idledger/idledger/examples/fare-discount",
	} {
		bin[name] = filepath.Join(tmp, name)
		build := exec.Command("go", "build", "-o", bin[name], pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", pkg, err)
			return 1
		}
	}
	dir := filepath.Join(tmp, "testnet")
	man, err := testnet.Init(testnet.InitOptions{Dir: dir, Validators: 1, Holders: 2, ChainID: "examples"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	net, err := testnet.Open(dir, testnet.OpenOptions{Binary: bin["idledger"]})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer net.Stop(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := net.Start(ctx, nil, 2*time.Minute); err != nil {
		fmt.Fprintln(os.Stderr, err, testnet.LogTail(net.LogPath(0), 30))
		return 1
	}
	rpcURL, genesis = net.RPCURL(0), filepath.Join(net.Home(0), node.GenesisFile)
	holders = filepath.Join(dir, man.CADir, testca.HoldersDir)
	setupError = attestAll(ctx, man, dir)
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, "end of the node's log:\n"+testnet.LogTail(net.LogPath(0), 30))
	}
	return code
}

// attestAll has org0 attest holder1's kyc, concert ticket and student fare
// eligibility; holder2 gets nothing.
func attestAll(ctx context.Context, man *testnet.Manifest, dir string) error {
	c, err := client.New(rpcURL, client.WithPollInterval(50*time.Millisecond))
	if err != nil {
		return err
	}
	key, err := man.MemberKey(dir, 0)
	if err != nil {
		return err
	}
	s, err := signer.LoadSoft(filepath.Join(holders, "holder1.key"), filepath.Join(holders, "holder1.crt"))
	if err != nil {
		return err
	}
	for _, a := range []struct{ claimType, claim string }{
		{"kyc", "bank-a KYC record 2026-0042"}, {"ticket", "concert-2026/A-12"}, {"fare-eligibility", "student"},
	} {
		h := sha256.Sum256([]byte(a.claim))
		if _, err := c.Attest(ctx, client.AttestRequest{Signer: s, MemberKey: key, ClaimType: a.claimType, ClaimHash: h[:]}); err != nil {
			return fmt.Errorf("attest %s: %w", a.claimType, err)
		}
	}
	one := int64(1)
	cm, err := c.RPC().Commit(ctx, &one)
	if err != nil {
		return err
	}
	trustHash = hex.EncodeToString(cm.SignedHeader.Hash())
	return nil
}

func world(t *testing.T) {
	t.Helper()
	if setupError != nil {
		t.Fatal(setupError)
	}
}

func soft(h string) string {
	return "soft:" + filepath.Join(holders, h+".key") + "," + filepath.Join(holders, h+".crt")
}

// runProgram runs an example program and returns its exit code and output.
func runProgram(t *testing.T, name string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin[name], args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Logf("%s %s: exit %d\n%s%s", name, strings.Join(args, " "), code, out, stderr.String())
	return code, string(out)
}

func TestEKYCBank(t *testing.T) {
	world(t)
	base := []string{"--node", rpcURL, "--genesis", genesis, "-json"}
	code, out := runProgram(t, "ekyc-bank", append(base, "--signer", soft("holder1"))...)
	var d struct {
		Open     bool   `json:"open_account"`
		Attester string `json:"attester"`
		Registry string `json:"registry"`
		AppHash  string `json:"app_hash"`
		Reason   string `json:"reason"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if code != 0 || !d.Open || d.Attester != "org0" || !strings.Contains(d.Registry, "kyc attesters") || len(d.AppHash) != 64 {
		t.Fatalf("holder1: exit %d, %+v", code, d)
	}
	// No kyc attestation: refused.
	code, out = runProgram(t, "ekyc-bank", append(base, "--signer", soft("holder2"))...)
	if code != 1 || !strings.Contains(out, "no_attestation") {
		t.Fatalf("holder2: exit %d, %s", code, out)
	}
	// The bank's own policy: only attestations by bank-b.
	code, out = runProgram(t, "ekyc-bank", append(base, "--signer", soft("holder1"), "--accept-attester", "bank-b")...)
	if code != 1 || !strings.Contains(out, "not among the attesters this relying party accepts") {
		t.Fatalf("holder1, bank-b only: exit %d, %s", code, out)
	}
}

func TestEventGate(t *testing.T) {
	world(t)
	store := filepath.Join(t.TempDir(), "gate")
	// Online: sync, admit, refuse the replay.
	code, out := runProgram(t, "event-gate", "--store", store, "--rpc", rpcURL, "--trust-height", "1", "--trust-hash", trustHash,
		"--signer", soft("holder1"), "--event", "concert-2026/A-12", "--replay")
	if code != 0 || !strings.Contains(out, "synced: store verified to block") || !strings.Contains(out, "admit: ticket") ||
		!strings.Contains(out, "refuse: replayed presentation") {
		t.Fatalf("online gate: exit %d\n%s", code, out)
	}
	// Offline: still admits, and says how old its answer is.
	code, out = runProgram(t, "event-gate", "--store", store, "--signer", soft("holder1"), "--event", "concert-2026/A-12")
	if code != 0 || !strings.Contains(out, "admit: ticket") || !strings.Contains(out, " old)") {
		t.Fatalf("offline gate: exit %d\n%s", code, out)
	}
	// Another event's gate, and a holder without a ticket: refused.
	if code, out = runProgram(t, "event-gate", "--store", store, "--signer", soft("holder1"), "--event", "other-event"); code != 1 || !strings.Contains(out, "not for") {
		t.Fatalf("other event: exit %d\n%s", code, out)
	}
	if code, out = runProgram(t, "event-gate", "--store", store, "--signer", soft("holder2")); code != 1 || !strings.Contains(out, "no_attestation") {
		t.Fatalf("holder2: exit %d\n%s", code, out)
	}
}

func TestFareDiscount(t *testing.T) {
	world(t)
	store := filepath.Join(t.TempDir(), "fare")
	code, out := runProgram(t, "fare-discount", "--store", store, "--rpc", rpcURL, "--trust-height", "1", "--trust-hash", trustHash,
		"--signer", soft("holder1"), "--fare", "200")
	if code != 0 || !strings.Contains(out, "fare 100 yen: student discount 50% (attested by org0)") || !strings.Contains(out, "as of block") {
		t.Fatalf("online: exit %d\n%s", code, out)
	}
	// Offline, within its staleness bound: the discount still applies.
	code, out = runProgram(t, "fare-discount", "--store", store, "--signer", soft("holder1"))
	if code != 0 || !strings.Contains(out, "student discount 50%") {
		t.Fatalf("offline: exit %d\n%s", code, out)
	}
	// Offline past the bound: the full fare, and why.
	code, out = runProgram(t, "fare-discount", "--store", store, "--signer", soft("holder1"), "--max-staleness", "1ns")
	if code != 0 || !strings.Contains(out, "fare 200 yen: no discount: the gate's knowledge is too old") {
		t.Fatalf("stale: exit %d\n%s", code, out)
	}
	code, out = runProgram(t, "fare-discount", "--store", store, "--signer", soft("holder1"), "--accept-attester", "univ-a")
	if code != 0 || !strings.Contains(out, "fare 200 yen: no discount:") || !strings.Contains(out, "not among the attesters") {
		t.Fatalf("attester not accepted: exit %d\n%s", code, out)
	}
	code, out = runProgram(t, "fare-discount", "--store", store, "--signer", soft("holder2"))
	if code != 0 || !strings.Contains(out, "fare 200 yen: no discount: no_attestation") {
		t.Fatalf("holder2: exit %d\n%s", code, out)
	}
}
