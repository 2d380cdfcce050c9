package gpse_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idledger/idledger/cli"
	"github.com/idledger/idledger/jpkiemu"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/testca"
)

// TestPCSCAttestToChain is the whole production path on one machine: a
// phone's GP-SE (the emulator) on a reader served by a real pcscd, the
// idledger-signer-gpse plugin run by `idledger attest --signer plugin:gpse`,
// a real node that verifies the JPKI signature and chain, and a status
// answer whose proof is checked against a light-client-verified header.
func TestPCSCAttestToChain(t *testing.T) {
	s := requireStack(t)
	env := nodetest.New(t, "gpse-e2e")
	h, err := env.CA.Issue(testca.IssueOptions{Name: "phone1"})
	if err != nil {
		t.Fatal(err)
	}
	card, err := jpkiemu.New(jpkiemu.Options{Key: h.Key, CertDER: h.CertDER, CADER: env.CA.CertDER, PIN: []byte("1234"), GPSE: true})
	if err != nil {
		t.Fatal(err)
	}
	s.insert(t, 0, card, nil)
	env.Start(t)
	// Start waits for height 1 in the block store, which CometBFT saves
	// before the app commits it: a query right then can find "no state
	// yet". Height 2 means block 1 is committed.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nodetest.WaitHeight(ctx, t, env.URL, 2)
	t.Setenv("IDLEDGER_PIN", "1234")
	dump := filepath.Join(t.TempDir(), "plugin-environ")
	t.Setenv(envEnvDump, dump)

	run := func(args ...string) []byte {
		t.Helper()
		var out, errb bytes.Buffer
		if code := cli.Main(context.Background(), args, &out, &errb); code != 0 {
			t.Fatalf("idledger %v: exit %d: %s", args, code, errb.String())
		}
		return out.Bytes()
	}
	claim := sha256.Sum256([]byte("student fare 2026"))
	var attested struct {
		ID     string `json:"id"`
		Height int64  `json:"height"`
	}
	out := run("attest", "--node", env.URL, "--signer", "plugin:gpse", "--member-key", env.Init.MemberKeyFile,
		"--claim-type", "student-fare", "--claim-hash", hex.EncodeToString(claim[:]), "-o", "json")
	if err := json.Unmarshal(out, &attested); err != nil || attested.ID == "" || attested.Height == 0 {
		t.Fatalf("attest output %s: %v", out, err)
	}
	if card.Signatures() != 1 {
		t.Fatalf("the card made %d signatures, want 1", card.Signatures())
	}
	// The PIN from IDLEDGER_PIN reached the phone (it signed, and a
	// GP-SE signs only after VERIFY) over the plugin protocol, not
	// through the plugin's environment, which /proc/PID/environ shows.
	environ, err := os.ReadFile(dump)
	if err != nil {
		t.Fatalf("the plugin did not dump its environment: %v", err)
	}
	for _, kv := range strings.Split(string(environ), "\x00") {
		if name, value, _ := strings.Cut(kv, "="); name == "IDLEDGER_PIN" || value == "1234" {
			t.Errorf("the plugin's environment holds the PIN in %s", name)
		}
	}
	var st struct {
		State    string `json:"state"`
		Verified bool   `json:"verified"`
	}
	out = run("query", "status", "--cert", h.CertPath, "--claim-type", "student-fare", "--verify", "--home", env.Home, "-o", "json")
	if err := json.Unmarshal(out, &st); err != nil || st.State != "valid" || !st.Verified {
		t.Fatalf("status %s: %v", out, err)
	}
}
