package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/idledger/idledger/cli"
)

// TestAttestRefusesMyNumberClaim: a claim file holding a My Number is
// refused before anything is signed or sent (its hash would put the number
// on the ledger), and the refusal does not repeat the number.
func TestAttestRefusesMyNumberClaim(t *testing.T) {
	dir := t.TempDir()
	claim := writeFile(t, dir, "claim.txt", "KYC done. My Number: 1234 5678 9018\n")
	code, out, errs := run(t, "attest", "--node", "http://127.0.0.1:1", "--signer", "soft:none.key,none.crt",
		"--member-key", filepath.Join(dir, "none.pem"), "--claim-type", "kyc", "--claim-file", claim)
	if code != cli.ExitFailure || out != "" || !strings.Contains(errs, "looks like a My Number (********9018)") ||
		!strings.Contains(errs, "--not-my-number") || strings.Contains(errs, "1234 5678") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
