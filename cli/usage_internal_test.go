package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestUsageErrorsAreTyped: the exit status of a failure comes from the
// error's type, not its words. Cobra's flag, argument and unknown-command
// errors exit 2 with the help hint; a command's own failure exits 1 even
// when its message reads like cobra's ("requires ...", "unknown command
// ..."), and a wrapped usage error still exits 2.
func TestUsageErrorsAreTyped(t *testing.T) {
	root := NewRootCommand()
	failing := func(use string, err error) *cobra.Command {
		return &cobra.Command{Use: use, Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return err }}
	}
	root.AddCommand(
		failing("requires", errors.New("requires a card in the reader")),
		failing("unknown", errors.New(`unknown command "x" for the plugin`)),
		failing("accepts", errors.New("accepts no PIN after three tries")),
		failing("flagword", errors.New("required flag of the plugin is missing")),
		failing("wrapped", fmt.Errorf("reading the config: %w", usagef("--home is required"))),
	)
	typeArgErrors(root)
	for _, tc := range []struct {
		args     []string
		code     int
		want     string
		helpHint bool
	}{
		{[]string{"requires"}, ExitFailure, "idledger: requires: requires a card in the reader\n", false},
		{[]string{"unknown"}, ExitFailure, `idledger: unknown: unknown command "x" for the plugin` + "\n", false},
		{[]string{"accepts"}, ExitFailure, "idledger: accepts: accepts no PIN after three tries\n", false},
		{[]string{"flagword"}, ExitFailure, "idledger: flagword: required flag of the plugin is missing\n", false},
		{[]string{"wrapped"}, ExitUsage, "idledger: wrapped: reading the config: --home is required\n", true},
		{[]string{"requires", "extra"}, ExitUsage, `idledger: requires: unknown command "extra" for "idledger requires"` + "\n", true},
		{[]string{"query", "attestation"}, ExitUsage, "idledger: query attestation: accepts 1 arg(s), received 0\n", true},
		{[]string{"version", "--bogus"}, ExitUsage, "idledger: version: unknown flag: --bogus\n", true},
		{[]string{"version", "--output"}, ExitUsage, "idledger: version: flag needs an argument: --output\n", true},
		{[]string{"bogus"}, ExitUsage, `idledger: unknown command "bogus" for "idledger"` + "\n", true},
	} {
		var out, errb bytes.Buffer
		code := execute(context.Background(), root, tc.args, &out, &errb)
		lines := strings.SplitAfterN(errb.String(), "\n", 2)
		hint := len(lines) == 2 && strings.HasPrefix(lines[1], "Run 'idledger ")
		if code != tc.code || lines[0] != tc.want || hint != tc.helpHint {
			t.Errorf("idledger %s: exit %d, stderr %q; want exit %d, %q, help hint %v",
				strings.Join(tc.args, " "), code, errb.String(), tc.code, tc.want, tc.helpHint)
		}
	}
}

// TestPackageDocNamesEveryCommand: doc.go's list of the top-level commands
// names each of them, and nothing that is not one.
func TestPackageDocNamesEveryCommand(t *testing.T) {
	b, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "//\t"); ok {
			if f := strings.Fields(rest); len(f) > 1 && !strings.HasPrefix(f[0], "(") {
				listed[f[0]] = true
			}
		}
	}
	for _, c := range NewRootCommand().Commands() {
		if !listed[c.Name()] {
			t.Errorf("doc.go does not name the command %q", c.Name())
		}
		delete(listed, c.Name())
	}
	for name := range listed {
		t.Errorf("doc.go names %q, which is not a command", name)
	}
}
