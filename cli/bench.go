package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/bench"
)

func newBenchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the application (not a test: figures depend on the machine)",
	}
	cmd.AddCommand(newBenchGrowthCommand())
	return cmd
}

func newBenchGrowthCommand() *cobra.Command {
	var (
		o      bench.GrowthOptions
		home   string
		keep   bool
		prof   string
		output *output
	)
	cmd := &cobra.Command{
		Use:   "growth --to N",
		Short: "How the cost of an attestation grows with the state: 10,000 and every tenfold to N",
		Long: `growth drives the real application — FinalizeBlock and Commit on an on-disk
IAVL tree — with blocks of valid attestations, each verified in full (JPKI
certificate chain, the holder's RSA signature, the attester's ed25519
signature), until the state holds N attestations. At 10,000 attestations and
every tenfold after (and at N) it prints a checkpoint:

  attestations                 the state's attestations so far
  commit_us_per_attestation    FinalizeBlock + Commit per attestation over the
                               last 50 blocks (verification included)
  commit_cpu_us_per_attestation  the same in the process's CPU time (every
                               core, the database's compaction included),
                               which other work on the machine inflates less
  disk_bytes_per_attestation   the state directory's size per attestation
  query_proof_us               median time of a status query with its Merkle
                               proof, over random subjects

The holders' signatures and the test CAs' certificates are made on every
core between timed phases, never during one, with 8-prime RSA-2048 test keys
and a fast signer for them (internal/fastrsa): the public keys, certificates
and signatures are ordinary RSA-2048 ones, verified as any card's. Each subject has its own test certificate (its own identity
commitment) and receives --per-subject attestations of each of three claim
types, so status records are spread over the tree as in production.

Progress goes to stderr; the result to stdout (-o json:
{"checkpoints":[{...},...]}, with where the wall time went: setup_s,
sign_s, blocks_s, measure_s).`,
		Example: `  idledger bench growth --to 1000000 -o json > growth.json
  idledger bench growth --to 100000 --home /tmp/growth --keep`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := output.check(); err != nil {
				return err
			}
			if o.First <= 0 {
				o.First = 10_000
			}
			if o.To < o.First {
				return usagef("--to %d: the first checkpoint is at %d", o.To, o.First)
			}
			dir := home
			if dir == "" {
				d, err := os.MkdirTemp("", "idledger-growth-")
				if err != nil {
					return err
				}
				dir = d
				if !keep {
					defer os.RemoveAll(d)
				}
			}
			o.Dir = dir
			stderr := cmd.ErrOrStderr()
			last := time.Time{}
			o.Progress = func(p bench.Progress) {
				if time.Since(last) < 5*time.Second && p.Attestations != o.To {
					return
				}
				last = time.Now()
				fmt.Fprintf(stderr, "growth: %d of %d attestations, height %d, %s\n", p.Attestations, o.To, p.Height, p.Elapsed.Round(time.Second))
			}
			fmt.Fprintf(stderr, "growth: state in %s; checkpoints at %v\n", dir, bench.Checkpoints(o.First, o.To))
			stopProfile, err := startCPUProfile(prof)
			if err != nil {
				return err
			}
			defer stopProfile()
			res, err := bench.Growth(cmd.Context(), o)
			if err != nil {
				return err
			}
			return output.print(cmd.OutOrStdout(), res, func(w io.Writer) {
				fmt.Fprintf(w, "%12s  %10s  %10s  %10s  %10s  %8s\n", "attestations", "commit µs", "cpu µs", "disk B", "query µs", "elapsed")
				for _, c := range res.Checkpoints {
					fmt.Fprintf(w, "%12d  %10.1f  %10.1f  %10.0f  %10.1f  %7.0fs\n", c.Attestations, c.CommitUsPerAttestation, c.CommitCPUUsPerAttestation, c.DiskBytesPerAttestation, c.QueryProofUs, c.ElapsedS)
				}
				fmt.Fprintf(w, "(per attestation; blocks of %d; %d signing workers)\n", res.BlockSize, res.Workers)
				fmt.Fprintf(w, "wall time: setup %.1fs, signing %.1fs, blocks %.1fs, measuring %.1fs\n", res.SetupS, res.SignS, res.BlocksS, res.MeasureS)
			})
		},
	}
	cmd.Flags().IntVar(&o.To, "to", 1_000_000, "attestations to reach (at least 10000)")
	cmd.Flags().StringVar(&home, "home", "", "directory for the state database (must be empty; default a temporary directory, removed after)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary state directory")
	cmd.Flags().IntVar(&o.BlockSize, "block-size", 1000, "attestations per block")
	cmd.Flags().IntVar(&o.PerSubject, "per-subject", 4, "attestations per subject and claim type (at most the chain's max_attestations_per_claim)")
	cmd.Flags().IntVar(&o.Workers, "workers", 0, "signing workers (default: one per core)")
	cmd.Flags().IntVar(&o.KeyPrimes, "key-primes", 8, "primes of every test RSA-2048 key: more sign faster (internal/fastrsa); what the app verifies is the same")
	cmd.Flags().MarkHidden("key-primes")
	cmd.Flags().IntVar(&o.First, "first", 10_000, "the first checkpoint (smoke runs)")
	cmd.Flags().MarkHidden("first")
	addCPUProfileFlag(cmd, &prof)
	// The app's state settings, as [state] in app.toml sets them for a node.
	cmd.Flags().IntVar(&o.AppOptions.NodeCache, "cache-nodes", 0, "IAVL nodes kept in memory (0: the app's default)")
	cmd.Flags().Int64Var(&o.AppOptions.KeepVersions, "keep-versions", 0, "state versions kept (0: the app's default)")
	cmd.Flags().Int64Var(&o.AppOptions.Store.PruneEvery, "prune-every", 0, "prune old versions every this many versions (0: the app's default)")
	cmd.Flags().IntVar(&o.AppOptions.Store.DBCacheMiB, "db-cache-mib", 0, "goleveldb block cache in MiB (0: the app's default)")
	cmd.Flags().IntVar(&o.AppOptions.Store.DBWriteBufferMiB, "db-write-buffer-mib", 0, "goleveldb write buffer in MiB (0: the app's default)")
	cmd.Flags().IntVar(&o.AppOptions.Store.DBTableMiB, "db-table-mib", 0, "goleveldb table size in MiB (0: the app's default)")
	cmd.Flags().BoolVar(&o.AppOptions.Store.FastIndex, "fast-index", false, "turn on IAVL's fast index")
	cmd.Flags().StringVar(&o.Presigned, "presigned", "", "a file of signed transactions: read if it exists (nothing is signed), else written; every one is still verified")
	cmd.Flags().MarkHidden("presigned")
	output = addOutputFlag(cmd)
	return cmd
}
