package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/idledger/idledger/client"
)

// Exit statuses of Main.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// usageError marks a mistake in the command line: Main exits with
// ExitUsage for any error that wraps one. Flag errors (SetFlagErrorFunc),
// argument-count errors (every command's Args, see typeArgErrors), an
// unknown command (execute) and the commands' own checks (usagef) all come
// wrapped in it, so Main needs no look at the message.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// NewRootCommand returns the idledger command tree.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "idledger",
		Short: "A permissioned ledger of attestations about JPKI-verified identities",
		Long: `idledger records attestations: "the holder of this JPKI user-authentication
certificate proved possession of the card's key, and member organisation A
vouches for claim K until time T". Validators check the JPKI signature and
certificate chain of every transaction; anyone can check a status with a
Merkle proof against a header signed by the validators.

The ledger never holds a My Number, a signing certificate or personal data:
state keeps only identity commitments, SHA-256 over the certificate's issuer
and serial number.

Try it on one machine:

  idledger ca init --dir ca                         # a test JPKI CA
  idledger ca issue --dir ca --name holder1         # a test card holder
  idledger init --home node --chain-id demo --anchor ca/ca.crt
  idledger start --home node &                      # RPC on 127.0.0.1:26657
  idledger attest --signer soft:ca/holders/holder1.key,ca/holders/holder1.crt \
      --member-key node/config/member_key.pem --claim-type kyc --claim-file claim.txt
  idledger query status --cert ca/holders/holder1.crt --claim-type kyc --verify --home node`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newInitCommand(),
		newGenesisCommand(),
		newJoinCommand(),
		newStartCommand(),
		newCACommand(),
		newAttestCommand(),
		newRevokeCommand(),
		newGovCommand(),
		newQueryCommand(),
		newVersionCommand(),
		newSignerCommand(),
		newDoctorCommand(),
		newTestnetCommand(),
		newVerifierCommand(),
		newPresentCommand(),
		newVerifyPresentationCommand(),
		newExplorerCommand(),
		newBroadcastCommand(),
		newBenchCommand(),
	)
	typeArgErrors(root)
	return root
}

// typeArgErrors wraps the Args validator of c and every command below it so
// that the errors cobra's validators return (cobra.ExactArgs: "accepts 1
// arg(s), received 0") are usage errors.
func typeArgErrors(c *cobra.Command) {
	if validate := c.Args; validate != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := validate(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		typeArgErrors(sub)
	}
}

// Main runs the idledger command with args (without the program name) and
// returns its exit status. SIGINT and SIGTERM cancel ctx.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return execute(ctx, NewRootCommand(), args, stdout, stderr)
}

// execute runs the command tree root with args and returns the exit status.
func execute(ctx context.Context, root *cobra.Command, args []string, stdout, stderr io.Writer) int {
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil || errors.Is(err, client.ErrGenerated) { // --generate-only: written, not sent
		return ExitOK
	}
	if cmd == root {
		// The root runs nothing: an error for it is cobra's, finding the
		// command ("unknown command"), or a flag error (already typed).
		err = usageError{err}
	}
	return report(root, cmd, err, stderr)
}

// report prints err, from command cmd, as Main's one error line and returns
// the exit status it calls for.
func report(root, cmd *cobra.Command, err error, stderr io.Writer) int {
	name := ""
	if cmd != nil && cmd != root {
		name = strings.TrimPrefix(cmd.CommandPath(), root.Name()+" ") + ": "
	}
	fmt.Fprintf(stderr, "idledger: %s%s\n", name, oneLine(err))
	var coded interface{ ExitCode() int } // e.g. an upgrade halt (cli/upgrade.go)
	if errors.As(err, &coded) {
		return coded.ExitCode()
	}
	var ue usageError
	if errors.As(err, &ue) {
		if cmd != nil {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
		return ExitUsage
	}
	return ExitFailure
}

// oneLine drops the package prefixes of the layers the CLI fronts and
// joins a multi-line error into one line.
func oneLine(err error) string {
	s := err.Error()
	for _, p := range []string{"client: ", "node: "} {
		s = strings.TrimPrefix(s, p)
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// output is the -o flag of a command that prints a result.
type output struct{ format string }

func addOutputFlag(cmd *cobra.Command) *output {
	o := &output{}
	cmd.Flags().StringVarP(&o.format, "output", "o", "text", "output format: text or json")
	return o
}

func (o *output) check() error {
	switch o.format {
	case "text", "json":
		return nil
	default:
		return usagef("--output %q: want text or json", o.format)
	}
}

// print writes v as indented JSON, or calls text.
func (o *output) print(w io.Writer, v any, text func(w io.Writer)) error {
	if o.format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(w)
	return nil
}

// defaultHome is $IDLEDGER_HOME, else ~/.idledger.
func defaultHome() string {
	if h := os.Getenv("IDLEDGER_HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".idledger")
	}
	return ".idledger"
}

func addHomeFlag(fs *pflag.FlagSet, home *string) {
	fs.StringVar(home, "home", defaultHome(), "node home directory ($IDLEDGER_HOME)")
}

// checkFlags is the first step of a command that prints a result: -o,
// then the flags it requires.
func checkFlags(cmd *cobra.Command, o *output, required ...string) error {
	if err := o.check(); err != nil {
		return err
	}
	return requireFlags(cmd, required...)
}

// requireFlags reports the first of names that was not given.
func requireFlags(cmd *cobra.Command, names ...string) error {
	for _, n := range names {
		if !cmd.Flags().Changed(n) {
			return usagef("--%s is required", n)
		}
	}
	return nil
}
