package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/idledger/idledger/testca"
	"github.com/idledger/idledger/testnet"
)

// defaultTestnetDir is where testnet commands work unless --dir says.
const defaultTestnetDir = "testnet-data"

// defaultStartTimeout bounds the wait for every node's first block.
const defaultStartTimeout = 2 * time.Minute

func newTestnetCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Run a local multi-validator testnet on this machine",
		Long: `The testnet commands make and run a network of several validators on one
machine, each node its own process listening on 127.0.0.1: a test JPKI CA with
card holders, one member organisation per validator, and a genesis that ties
them together, all in one directory:

  DIR/testnet.json        the nodes, their ports and members
  DIR/ca/                 the test CA; DIR/ca/holders/holderN.{crt,key}
  DIR/nodeI/              node I's home; its member orgI's key is
                          DIR/nodeI/config/member_key.pem
  DIR/nodeI/node.log      node I's log

Start here:

  idledger testnet up                 # 4 validators in ./testnet-data; Ctrl-C stops them

then, from another shell, the commands it prints. Nothing here is for
production: every key lives in DIR.`,
	}
	cmd.AddCommand(
		newTestnetUpCommand(),
		newTestnetInitCommand(),
		newTestnetStartCommand(),
		newTestnetStopCommand(),
		newTestnetStatusCommand(),
		newTestnetLoadCommand(),
	)
	return cmd
}

// testnetInitFlags are the flags of testnet init and up.
type testnetInitFlags struct {
	opts testnet.InitOptions
}

func (f *testnetInitFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.opts.Dir, "dir", defaultTestnetDir, "testnet directory")
	fs.IntVar(&f.opts.Validators, "validators", testnet.DefaultValidators, "number of validator nodes")
	fs.IntVar(&f.opts.Holders, "holders", testnet.DefaultHolders, "number of test card holders")
	fs.StringVar(&f.opts.ChainID, "chain-id", testnet.DefaultChainID, "chain ID")
	fs.IntVar(&f.opts.BasePort, "base-port", testnet.DefaultBasePort, "node 0's p2p port; node I uses BASE+10I (p2p), +1 (RPC), +4 (Prometheus); 0 picks free ports")
	fs.StringVar(&f.opts.App, "app", testnet.AppIdledger, "application: idledger, or kvstore for load comparisons")
	fs.StringVar(&f.opts.Transport, "transport", testnet.TransportComet, "validators' p2p transport: comet (CometBFT's TCP), or libp2p (CometBFT's experimental go-libp2p, QUIC over UDP; see docs/testnet.md)")
	fs.StringSliceVar(&f.opts.ClaimTypes, "claim-types", nil, "claim types the genesis registers for every member (default kyc,ticket,fare-eligibility; see docs/claim-types.md)")
	_ = fs.MarkHidden("app")
}

func newTestnetUpCommand() *cobra.Command {
	var (
		f       testnetInitFlags
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "up [--validators N] [--holders M] [--dir DIR] [--transport comet|libp2p]",
		Short: "Make (if needed) and run a testnet in the foreground",
		Long: `Up makes a testnet in DIR, unless DIR already holds one, and runs it: every
node starts as its own process ("idledger start --home DIR/nodeI"), up waits
until each has committed a block, prints the nodes and commands to try, and
stays in the foreground. Ctrl-C stops every node cleanly.

Run again on the same DIR, up restarts the same network where it stopped.

Examples:

  idledger testnet up
  idledger testnet up --validators 1 --dir /tmp/tn
  idledger testnet up --transport libp2p --dir /tmp/tn-libp2p   # experimental`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := f.opts.Dir
			if testnet.Exists(dir) {
				m, err := testnet.ReadManifest(dir)
				if err != nil {
					return err
				}
				for _, name := range []string{"validators", "holders", "chain-id", "base-port", "app", "transport", "claim-types"} {
					if cmd.Flags().Changed(name) {
						return usagef("%s already holds a %d-validator testnet, which up restarts as it is; --%s applies only to a new one (remove %s, or give another --dir)", dir, len(m.Nodes), name, dir)
					}
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "restarting the testnet in %s\n", dir)
			} else {
				f.opts.Progress = cmd.ErrOrStderr()
				if _, err := testnet.Init(f.opts); err != nil {
					return err
				}
			}
			return runTestnet(cmd, dir, timeout)
		},
	}
	f.add(cmd.Flags())
	cmd.Flags().DurationVar(&timeout, "timeout", defaultStartTimeout, "how long to wait for every node's first block")
	return cmd
}

func newTestnetInitCommand() *cobra.Command {
	var (
		f      testnetInitFlags
		output *output
	)
	cmd := &cobra.Command{
		Use:   "init [--validators N] [--holders M] [--dir DIR] [--transport comet|libp2p]",
		Short: "Make a testnet without starting it",
		Long: `Init makes a testnet in DIR (created if needed; refused if not empty): a test
JPKI CA and M card holders; for each of N validators a node home with its
own keys and ports, fast consensus timeouts and every other node as a
persistent peer; and one genesis naming every validator and one member
organisation per validator (orgI, every role, node I's ID and consensus
key), trusting the test CA, with a majority governor threshold. Start it
with idledger testnet start.

Ports: node I listens on BASE+10I for p2p, BASE+10I+1 for RPC and
BASE+10I+4 for Prometheus metrics (BASE is --base-port, 26656 by default, so
node 0 has CometBFT's usual ports); --base-port 0 picks free ports.

Transport: --transport comet (default) is CometBFT's own p2p over TCP, with
peer filtering by the application. --transport libp2p runs the validators on
CometBFT's experimental go-libp2p transport: QUIC over UDP on the same p2p
port numbers, every other node as a persistent bootstrap peer named by its
libp2p ID (in the manifest), no peer exchange, and no peer filtering
(CometBFT does not apply it on libp2p); see docs/testnet.md.

Example:

  idledger testnet init --validators 4 --holders 5 --dir testnet-data`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := output.check(); err != nil {
				return err
			}
			f.opts.Progress = cmd.ErrOrStderr()
			m, err := testnet.Init(f.opts)
			if err != nil {
				return err
			}
			return output.print(cmd.OutOrStdout(), m, func(w io.Writer) {
				fmt.Fprintf(w, "Made a %d-validator testnet (chain %s, %s transport) in %s\n", len(m.Nodes), m.ChainID, m.TransportName(), f.opts.Dir)
				printNodeTable(w, m, nil)
				fmt.Fprintf(w, "Start it with: %s testnet start --dir %s\n", selfCommand().name, f.opts.Dir)
			})
		},
	}
	f.add(cmd.Flags())
	output = addOutputFlag(cmd)
	return cmd
}

func newTestnetStartCommand() *cobra.Command {
	var (
		dir     string
		detach  bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "start [--dir DIR] [--detach]",
		Short: "Run a testnet made by testnet init",
		Long: `Start runs every node of the testnet in DIR as its own process, waits until
each has committed a block, prints the nodes, and stays in the foreground
until Ctrl-C, which stops every node cleanly. With --detach it returns once
the nodes run and leaves them running; stop them with idledger testnet stop.

Example:

  idledger testnet start --dir testnet-data --detach`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if detach {
				n, err := testnet.Open(dir, testnet.OpenOptions{Detach: true})
				if err != nil {
					return err
				}
				if err := n.Start(cmd.Context(), cmd.ErrOrStderr(), timeout); err != nil {
					return err
				}
				printNodeTable(cmd.OutOrStdout(), n.Manifest, n)
				fmt.Fprintf(cmd.OutOrStdout(), "Stop it with: %s testnet stop --dir %s\n", selfCommand().name, dir)
				return nil
			}
			return runTestnet(cmd, dir, timeout)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultTestnetDir, "testnet directory")
	cmd.Flags().BoolVar(&detach, "detach", false, "leave the nodes running in the background and return")
	cmd.Flags().DurationVar(&timeout, "timeout", defaultStartTimeout, "how long to wait for every node's first block")
	return cmd
}

// runTestnet starts the testnet in dir and supervises it in the foreground
// until the command's context ends (Ctrl-C, SIGTERM) or every node has
// exited, then stops what still runs.
func runTestnet(cmd *cobra.Command, dir string, timeout time.Duration) error {
	n, err := testnet.Open(dir, testnet.OpenOptions{})
	if err != nil {
		return err
	}
	// With the output going through a pipe ("| tee log"), Ctrl-C kills the
	// reader too, and the next write to stdout or stderr would kill this
	// process with SIGPIPE before it stops the nodes. Asking for SIGPIPE
	// turns such writes into EPIPE errors instead, which are ignored.
	sigpipe := make(chan os.Signal, 1)
	signal.Notify(sigpipe, syscall.SIGPIPE)
	defer signal.Stop(sigpipe)
	stderr, stdout := cmd.ErrOrStderr(), cmd.OutOrStdout()
	fmt.Fprintf(stderr, "starting %d nodes; waiting for each to commit a block\n", len(n.Manifest.Nodes))
	if err := n.Start(cmd.Context(), stderr, timeout); err != nil {
		if cmd.Context().Err() != nil {
			fmt.Fprintln(stderr, "interrupted; the nodes were stopped")
			return nil
		}
		return err
	}
	transport := ""
	if n.Manifest.TransportName() == testnet.TransportLibP2P {
		transport = " on the libp2p transport (QUIC over UDP; experimental)"
	}
	fmt.Fprintf(stdout, "\nTestnet %s is running: %d validators%s\n", n.Manifest.ChainID, len(n.Manifest.Nodes), transport)
	printNodeTable(stdout, n.Manifest, n)
	printNextSteps(stdout, dir, n.Manifest, selfCommand())

	running := len(n.Manifest.Nodes)
	for running > 0 {
		select {
		case <-cmd.Context().Done():
			fmt.Fprintf(stderr, "\nstopping %d nodes\n", running)
			if err := n.Stop(testnet.DefaultStopGrace); err != nil {
				return err
			}
			fmt.Fprintln(stderr, "all nodes stopped")
			return nil
		case e := <-n.Exits():
			running--
			name := n.Manifest.Nodes[e.Node].Name
			var ee *exec.ExitError
			if errors.As(e.Err, &ee) && ee.ExitCode() == ExitUpgradeNeeded {
				fmt.Fprintf(stderr, "%s halted for an upgrade it does not know (exit status %d); end of %s:\n%s\n", name, ExitUpgradeNeeded, n.LogPath(e.Node), testnet.LogTail(n.LogPath(e.Node), 3))
			} else if e.Err != nil {
				fmt.Fprintf(stderr, "%s exited: %v; end of %s:\n%s\n", name, e.Err, n.LogPath(e.Node), testnet.LogTail(n.LogPath(e.Node), 5))
			} else {
				fmt.Fprintf(stderr, "%s stopped\n", name)
			}
		}
	}
	fmt.Fprintln(stderr, "every node has stopped")
	return nil
}

func printNodeTable(w io.Writer, m *testnet.Manifest, n *testnet.Network) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tRPC\tP2P\tMETRICS\tMEMBER\tPID")
	for i, nd := range m.Nodes {
		pid := "-"
		if n != nil && n.PID(i) != 0 {
			pid = strconv.Itoa(n.PID(i))
		}
		metrics := "-"
		if nd.Prometheus != "" {
			metrics = "http://" + nd.Prometheus + "/metrics"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", nd.Name, nd.RPCURL(), nd.P2P, metrics, nd.Member, pid)
	}
	tw.Flush()
}

func printNextSteps(w io.Writer, dir string, m *testnet.Manifest, self command) {
	last := len(m.Nodes) - 1
	holders := filepath.Join(dir, m.CADir, testca.HoldersDir)
	idl := self.name
	if self.note != "" {
		fmt.Fprintf(w, "\n%s\n", self.note)
	}
	fmt.Fprintf(w, "\nLogs: %s/nodeI/node.log. Try, from another shell:\n\n", dir)
	if m.App == testnet.AppIdledger && len(m.Holders) > 0 {
		h := m.Holders[0]
		claim := sha256.Sum256([]byte("example claim"))
		fmt.Fprintf(w, "  # attest a claim about %s through node 0 (member org0)\n", h)
		fmt.Fprintf(w, "  %s attest --node %s \\\n", idl, m.Nodes[0].RPCURL())
		fmt.Fprintf(w, "      --signer soft:%s,%s \\\n", filepath.Join(holders, h+".key"), filepath.Join(holders, h+".crt"))
		fmt.Fprintf(w, "      --member-key %s --claim-type kyc --claim-hash %s\n\n", filepath.Join(dir, m.Nodes[0].Home, "config", "member_key.pem"), hex.EncodeToString(claim[:]))
		fmt.Fprintf(w, "  # read it back through node %d, proven against the genesis in its home\n", last)
		fmt.Fprintf(w, "  %s query status --home %s --cert %s --claim-type kyc --verify\n\n", idl, filepath.Join(dir, m.Nodes[last].Home), filepath.Join(holders, h+".crt"))
	}
	fmt.Fprintf(w, "  %s testnet status --dir %s\n", idl, dir)
	fmt.Fprintf(w, "  %s doctor --home %s\n", idl, filepath.Join(dir, m.Nodes[0].Home))
	fmt.Fprintf(w, "  %s testnet load --dir %s --rate 50 --duration 10s\n", idl, dir)
	fmt.Fprintf(w, "  %s testnet stop --dir %s        # or Ctrl-C here\n\n", idl, dir)
}

// command is how to run this idledger from a shell, with a note when
// that is not plain "idledger".
type command struct{ name, note string }

// selfCommand finds how a user's shell reaches the running binary: plain
// "idledger" when that is on PATH and is this binary; "go run
// ./cmd/idledger" when this is go run's temporary build; else its path.
func selfCommand() command {
	exe, err := os.Executable()
	if err != nil {
		return command{name: "idledger"}
	}
	if p, err := exec.LookPath("idledger"); err == nil && sameFile(p, exe) {
		return command{name: "idledger"}
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return command{name: "go run ./cmd/idledger", note: "idledger is not on your PATH. Install it with \"go install ./cmd/...\" (into $(go env GOPATH)/bin;\n" +
			"add that to PATH), or run the commands below as they are, from the repository's root."}
	}
	return command{name: exe, note: "idledger is not on your PATH (\"go install ./cmd/...\" puts it in $(go env GOPATH)/bin);\n" +
		"the commands below name this binary by its path."}
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

type testnetStopResult struct {
	Stopped []string `json:"stopped"`
}

func newTestnetStopCommand() *cobra.Command {
	var (
		dir    string
		grace  time.Duration
		output *output
	)
	cmd := &cobra.Command{
		Use:   "stop [--dir DIR]",
		Short: "Stop a running testnet",
		Long: `Stop stops the nodes of the testnet in DIR, whichever shell started them: it
sends SIGTERM to each process named by DIR/nodeI/node.pid, waits up to
--grace, then sends SIGKILL to those still running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := output.check(); err != nil {
				return err
			}
			stopped, err := testnet.StopPIDs(dir, grace)
			if err != nil {
				return err
			}
			res := testnetStopResult{Stopped: stopped}
			if res.Stopped == nil {
				res.Stopped = []string{}
			}
			return output.print(cmd.OutOrStdout(), res, func(w io.Writer) {
				if len(stopped) == 0 {
					fmt.Fprintf(w, "no node of the testnet in %s is running\n", dir)
					return
				}
				fmt.Fprintf(w, "stopped %s\n", strings.Join(stopped, ", "))
			})
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultTestnetDir, "testnet directory")
	cmd.Flags().DurationVar(&grace, "grace", testnet.DefaultStopGrace, "how long to wait after SIGTERM before SIGKILL")
	output = addOutputFlag(cmd)
	return cmd
}

func newTestnetStatusCommand() *cobra.Command {
	var (
		dir    string
		output *output
	)
	cmd := &cobra.Command{
		Use:   "status [--dir DIR]",
		Short: "Show each node's height, app hash, peers and sync state",
		Long: `Status asks every node of the testnet in DIR, over RPC, for its latest
height, app hash, number of peers and whether it is catching up. A node that
does not answer shows as down.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := output.check(); err != nil {
				return err
			}
			sts, err := testnet.Status(cmd.Context(), dir)
			if err != nil {
				return err
			}
			return output.print(cmd.OutOrStdout(), sts, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "NODE\tPID\tHEIGHT\tAPP HASH\tPEERS\tCATCHING UP\tRPC")
				for _, s := range sts {
					pid := "-"
					if s.PID != 0 {
						pid = strconv.Itoa(s.PID)
					}
					if !s.Up {
						fmt.Fprintf(tw, "%s\t%s\tdown\t\t\t\t%s\n", s.Name, pid, s.RPC)
						continue
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%v\t%s\n", s.Name, pid, s.Height, s.AppHash, s.Peers, s.CatchingUp, s.RPC)
				}
				tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultTestnetDir, "testnet directory")
	output = addOutputFlag(cmd)
	return cmd
}
