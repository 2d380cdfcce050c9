package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idledger/idledger/cli"
	"github.com/idledger/idledger/node/nodetest"
)

// TestAttestChecksBeforeAskingTheHolder: attest asks the node about every
// rule it can check without the holder before the holder's signer is
// started (a card or phone may want its PIN at once): an unregistered or
// retired claim type, a member without the attester role or one that may
// not attest the type, a --not-after past its maximum validity, an unknown
// member and another chain ID are refused with the chain's code while the
// signer plugin, which records each start, never runs. A good attestation
// does start it.
func TestAttestChecksBeforeAskingTheHolder(t *testing.T) {
	// Not parallel: PATH leads to the recording plugin.
	bin := t.TempDir()
	started := filepath.Join(bin, "started")
	plugin := "#!/bin/sh\necho started >> '" + started + "'\nexit 3\n"
	if err := os.WriteFile(filepath.Join(bin, "idledger-signer-recorder"), []byte(plugin), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	pluginRan := func() bool {
		_, err := os.Stat(started)
		return err == nil
	}

	e := nodetest.New(t, "precheck-test")
	e.Start(t)
	key := e.Init.MemberKeyFile
	gov := []string{"--node", e.URL, "--member-key", key, "-o", "json"}
	var p proposalJSON
	ok(t, &p, append([]string{"gov", "propose", "retire-claim-type", "--name", "ticket"}, gov...)...)
	bankKey := filepath.Join(e.Dir, "bank.pem")
	newMemberKey(t, bankKey)
	ok(t, &p, append([]string{"gov", "propose", "add-member", "--id", "bank", "--pub-key-file", bankKey, "--roles", "attester"}, gov...)...)
	clerkKey := filepath.Join(e.Dir, "clerk.pem")
	newMemberKey(t, clerkKey)
	ok(t, &p, append([]string{"gov", "propose", "add-member", "--id", "clerk", "--pub-key-file", clerkKey, "--roles", "revoker"}, gov...)...)
	ok(t, &p, append([]string{"gov", "propose", "register-claim-type", "--name", "bank-only", "--attester", "bank", "--max-validity", "1000h"}, gov...)...)
	if p.Status != "executed" {
		t.Fatalf("register-claim-type = %+v", p)
	}

	attest := []string{"attest", "--node", e.URL, "--member-key", key, "--signer", "plugin:recorder", "--claim-hash", strings.Repeat("ab", 32)}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--claim-type", "no-such-type"}, `claim type "no-such-type" is not registered (see idledger query claim-types) (code 70)`},
		{[]string{"--claim-type", "ticket"}, `claim type "ticket" was retired at height`},
		{[]string{"--claim-type", "bank-only"}, `member "operator" may not attest "bank-only": its attesters are bank (code 72)`},
		{[]string{"--claim-type", "kyc", "--not-after", time.Now().Add(2 * 8760 * time.Hour).Format(time.RFC3339)}, "maximum validity 8760h0m0s after the block time (code 73)"},
		{[]string{"--claim-type", "kyc", "--chain-id", "another-chain"}, `signed for chain "another-chain", the node at ` + e.URL + ` serves "precheck-test" (code 2)`},
		{[]string{"--claim-type", "kyc", "--member", "nobody"}, `member "nobody": not found`},
		{[]string{"--claim-type", "kyc", "--member-key", clerkKey}, `member "clerk" is not a attester (code 6)`},
	} {
		refused(t, tc.want, append(attest, tc.args...)...)
		if pluginRan() {
			t.Fatalf("attest %s: the holder's signer was started before the refusal", strings.Join(tc.args, " "))
		}
	}

	// The control: with nothing to refuse, the signer is asked (and this
	// one fails).
	if code, _, errs := run(t, append(attest, "--claim-type", "kyc")...); code != cli.ExitFailure || !pluginRan() {
		t.Fatalf("attest of a registered type: exit %d, plugin started %v, stderr %q; want the plugin started and exit 1", code, pluginRan(), errs)
	}
}
