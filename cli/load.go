package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/loadgen"
	"github.com/idledger/idledger/testnet"
)

func newTestnetLoadCommand() *cobra.Command {
	var (
		opts    loadgen.LoadOptions
		nodes   string
		output  *output
		compare string
		cmpOpts loadgen.CompareOptions
		keep    bool
		prof    string
	)
	cmd := &cobra.Command{
		Use:   "load --rate R --duration D [--dir DIR] [--nodes 0,1,...] [--app-check] [--compare kvstore --validators N]",
		Short: "Measure committed transactions per second and latency",
		Long: `Load measures a running testnet. First it prepares rate × duration Attest
transactions (at most 100000) on every core: each one attests a claim about
a new card, a certificate the test CA issues for one of the holders' keys,
signed by the holder and by the member of the node it goes to (orgI for node I), in
that member's sequence order. Then it sends them at --rate for --duration,
spread round-robin over --nodes: each node gets one sender per member of
its organisation (orgI and its load members), each on its own connection,
sending every transaction that is due at once in one JSON-RPC batch of
broadcast_tx_sync calls (so each member's transactions stay in order and no
sender waits on one reply before the next). While it sends, it follows the
first of those nodes' height and blocks' transaction counts (small RPC
answers: the node is not asked to encode whole blocks while it is
measured), waits up to --wait for the last commits, then reads the blocks
and their results, and reports:

  offered tx/s     sent / send time
  committed tx/s   committed with code 0 / (last commit - first send)
  latency          from the send to the block's height appearing on the
                   watched node (polled every 20ms): p50, p95, p99, max
  cpu              (Linux) the nodes' and the load generator's CPU time per
                   committed tx over the same phase, and the cores busy
  refusals         by stage (check, deliver, rpc) and code

--app-check then checks the state: the members' sequences moved by the
committed transactions, every node has the same app hash at a common
height, and sample attestations read back valid with proofs.

On a kvstore testnet (testnet init --app kvstore) it sends random key=value
transactions of the same size instead, for comparison.

--compare kvstore makes two new testnets of the same shape (--validators,
--transport) in a work directory (--work, default a temporary one), runs the
same load on CometBFT's kvstore example and then on idledger, stopping each
network after its run, and prints both figures and the ratios (committed
tx/s, p50 latency), and the ratio the CPU allows: kvstore's CPU per
committed tx (nodes and load generator) over idledger's, the most the
throughput ratio can be where both runs keep every core busy (one machine
running every validator and the load). --dir is not used then. A
comparison is honest only when the load itself is not the bottleneck:
check that kvstore's committed rate is close to what was offered, and offer
more if it is. --latency-rate R
adds a second run on each testnet at R, a rate both apps sustain, and takes
the p50 ratio from it: above an app's ceiling latency is queueing and grows
with the run's length.

Example:

  idledger testnet load --dir testnet-data --rate 100 --duration 20s --app-check
  idledger testnet load --compare kvstore --validators 1 --rate 2500 --duration 20s --latency-rate 400`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFlags(cmd, output, "rate", "duration"); err != nil {
				return err
			}
			if nodes != "" {
				for _, s := range strings.Split(nodes, ",") {
					i, err := strconv.Atoi(strings.TrimSpace(s))
					if err != nil {
						return usagef("--nodes %q: want node numbers such as 0,1,3", nodes)
					}
					opts.Nodes = append(opts.Nodes, i)
				}
			}
			opts.Progress = cmd.ErrOrStderr()
			ctx := cmd.Context()
			stopProfile, err := startCPUProfile(prof)
			if err != nil {
				return err
			}
			defer stopProfile()
			if compare != "" {
				if compare != "kvstore" {
					return usagef("--compare %q: the one reference is kvstore", compare)
				}
				return runCompare(cmd, output, cmpOpts, opts, keep)
			}
			res, err := loadgen.Load(ctx, opts)
			if err != nil {
				if errors.Is(err, context.Canceled) && res != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "interrupted; partial results:")
				} else {
					return err
				}
			}
			if err := output.print(cmd.OutOrStdout(), res, func(w io.Writer) { printLoadResult(w, res) }); err != nil {
				return err
			}
			if res.AppCheck != nil && !res.AppCheck.OK {
				return fmt.Errorf("app check failed: %s", strings.Join(res.AppCheck.Problems, "; "))
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Dir, "dir", defaultTestnetDir, "testnet directory")
	f.Float64Var(&opts.Rate, "rate", 0, "offered load, transactions per second over all target nodes (required)")
	f.DurationVar(&opts.Duration, "duration", 0, "how long to offer it, e.g. 30s (required)")
	f.StringVar(&nodes, "nodes", "", "comma-separated node numbers to send to (default all)")
	f.DurationVar(&opts.Wait, "wait", loadgen.DefaultLoadWait, "how long to wait for commits after the last send")
	f.BoolVar(&opts.AppCheck, "app-check", false, "check the application state afterwards")
	f.StringVar(&compare, "compare", "", "kvstore: run the same shape and load on CometBFT's kvstore example, then on idledger, on new testnets")
	f.IntVar(&cmpOpts.Validators, "validators", testnet.DefaultValidators, "with --compare: validators of each testnet")
	f.StringVar(&cmpOpts.Transport, "transport", testnet.TransportComet, "with --compare: p2p transport of each testnet (comet or libp2p)")
	f.StringVar(&cmpOpts.Dir, "work", "", "with --compare: directory for the two testnets (default a temporary one, removed after)")
	f.BoolVar(&keep, "keep", false, "with --compare: keep the temporary work directory")
	f.Float64Var(&cmpOpts.LatencyRate, "latency-rate", 0, "with --compare: after each run, a second one at this rate (one both apps sustain) for the latency ratio")
	addCPUProfileFlag(cmd, &prof)
	output = addOutputFlag(cmd)
	return cmd
}

func printLoadResult(w io.Writer, r *loadgen.LoadResult) {
	fmt.Fprintf(w, "%s, %d validators, sending to %s; %d-byte transactions\n", r.App, r.Validators, strings.Join(r.Targets, ", "), r.TxBytes)
	fmt.Fprintf(w, "  prepared:     %d in %s\n", r.Prepared, r.PrepareTime.D())
	fmt.Fprintf(w, "  offered:      %.1f tx/s (asked %g for %s; %d sent in %s)\n", r.OfferedTPS, r.Rate, r.Duration.D(), r.Sent, r.SendTime.D())
	fmt.Fprintf(w, "  committed:    %.1f tx/s (%d committed, %d accepted, %d failed in the block, %d not committed in time)\n", r.CommittedTPS, r.Committed, r.Accepted, r.Failed, r.Lost)
	l := r.Latency
	fmt.Fprintf(w, "  latency:      p50 %s  p95 %s  p99 %s  max %s  (mean %s)\n", l.P50.D(), l.P95.D(), l.P99.D(), l.Max.D(), l.Mean.D())
	if r.Blocks > 0 {
		fmt.Fprintf(w, "  blocks:       %d (heights %d-%d), at most %d load transactions in one\n", r.Blocks, r.FirstHeight, r.LastHeight, r.MaxBlockTxs)
	}
	if c := r.CPU; c != nil {
		fmt.Fprintf(w, "  cpu:          nodes %.0f µs and load generator %.0f µs per committed tx; %.2f of %d cores busy\n", c.NodeUsPerTx, c.LoadUsPerTx, c.BusyCores, c.Cores)
	}
	if len(r.Refusals) == 0 {
		fmt.Fprintf(w, "  refusals:     none\n")
	}
	for _, rf := range r.Refusals {
		fmt.Fprintf(w, "  refused:      %d at %s, code %d: %s\n", rf.Count, rf.Stage, rf.Code, rf.Example)
	}
	if ac := r.AppCheck; ac != nil {
		verdict := "ok"
		if !ac.OK {
			verdict = "FAILED"
		}
		fmt.Fprintf(w, "  app check:    %s\n", verdict)
		for _, p := range ac.Passed {
			fmt.Fprintf(w, "    ok   %s\n", p)
		}
		for _, p := range ac.Problems {
			fmt.Fprintf(w, "    FAIL %s\n", p)
		}
	}
}

func runCompare(cmd *cobra.Command, output *output, o loadgen.CompareOptions, lo loadgen.LoadOptions, keep bool) error {
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "idledger-compare-")
		if err != nil {
			return err
		}
		o.Dir = d
		if !keep {
			defer os.RemoveAll(d)
		}
	}
	lo.Nodes = nil // every node of each new testnet
	o.Load, o.Progress = lo, cmd.ErrOrStderr()
	res, err := loadgen.Compare(cmd.Context(), o)
	if err != nil {
		return err
	}
	return output.print(cmd.OutOrStdout(), res, func(w io.Writer) {
		printLoadResult(w, res.KVStore)
		fmt.Fprintln(w)
		printLoadResult(w, res.Idledger)
		kl, il, at := res.KVStore, res.Idledger, ""
		if res.KVStoreLatency != nil {
			fmt.Fprintln(w)
			printLoadResult(w, res.KVStoreLatency)
			fmt.Fprintln(w)
			printLoadResult(w, res.IdledgerLatency)
			kl, il, at = res.KVStoreLatency, res.IdledgerLatency, fmt.Sprintf(" at %g tx/s", o.LatencyRate)
		}
		fmt.Fprintf(w, "\nidledger / kvstore, %d validators: committed %.1f / %.1f tx/s = %.2fx; p50 latency%s %s / %s = %.2fx\n",
			res.Validators, res.Idledger.CommittedTPS, res.KVStore.CommittedTPS, res.Ratio,
			at, il.Latency.P50.D(), kl.Latency.P50.D(), res.LatencyRatio)
		if k, i := res.KVStore.CPU, res.Idledger.CPU; k != nil && i != nil {
			fmt.Fprintf(w, "CPU per committed tx (nodes + load generator): kvstore %.0f µs, idledger %.0f µs; where both keep all %d cores busy the ratio can reach at most %.2fx\n",
				k.NodeUsPerTx+k.LoadUsPerTx, i.NodeUsPerTx+i.LoadUsPerTx, i.Cores, res.CPUBoundRatio)
		}
	})
}
