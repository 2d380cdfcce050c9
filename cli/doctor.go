package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/doctor"
)

func newDoctorCommand() *cobra.Command {
	var (
		opts   doctor.Options
		output *output
	)
	cmd := &cobra.Command{
		Use:   "doctor [--home HOME] [--node URL] [-o json]",
		Short: "Check a node's health: config, keys, disk, clock, peers and lag",
		Long: fmt.Sprintf(`Doctor checks a node home and the node running from it, and prints one line
per check with ok, warn or fail:

  config, genesis   config.toml is valid; the genesis parses and is idledger's;
                    a multi-validator chain has persistent_peers or seeds
  peer filter       filter_peers is on (only the members' nodes may connect)
  metrics           Prometheus is on, and where
  node key, validator key, member key
                    the secret key files are not readable by group or others
                    (chmod 600); with priv_validator_laddr set the validator
                    key should be on the remote signer, not here
  disk              free space where the data lives: fail under %d GiB or
                    %d%%, warn under %d%%
  node              the RPC answers, and its height and sync state
  clock             the last block's time against this clock: fail when the
                    block is more than %s in the future (this clock is
                    behind), warn when a caught-up node's last block is more
                    than %s old (stalled chain, or this clock is ahead)
  upgrade           a scheduled upgrade this binary does not know warns
  peers, peer ID    connected peers; every persistent peer not connected
                    fails (stopped or unreachable)
  height lag        fail when more than %d blocks behind the highest peer

It exits 1 when any check fails, 0 otherwise (warnings included).

Example:

  idledger doctor --home /var/lib/idledger
  idledger doctor --home testnet-data/node0 -o json`,
			doctor.MinFreeBytes>>30, doctor.MinFreePercent, doctor.WarnFreePercent, doctor.MaxFutureBlock, doctor.MaxBlockAge, doctor.MaxLag),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := output.check(); err != nil {
				return err
			}
			r := doctor.Run(cmd.Context(), opts)
			if err := output.print(cmd.OutOrStdout(), r, func(w io.Writer) { printDoctor(w, r) }); err != nil {
				return err
			}
			if !r.OK {
				var failed []string
				for _, c := range r.Checks {
					if c.Status == doctor.Fail {
						failed = append(failed, c.Check)
					}
				}
				return errors.New("failed: " + strings.Join(failed, ", "))
			}
			return nil
		},
	}
	addHomeFlag(cmd.Flags(), &opts.Home)
	cmd.Flags().StringVar(&opts.RPC, "node", "", "the node's RPC URL (default: from HOME/config/config.toml)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 5*time.Second, "timeout of each RPC call")
	output = addOutputFlag(cmd)
	return cmd
}

func printDoctor(w io.Writer, r *doctor.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
	for _, c := range r.Checks {
		status := c.Status
		if status != doctor.OK {
			status = strings.ToUpper(status)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Check, status, c.Detail)
	}
	tw.Flush()
	if r.OK {
		fmt.Fprintf(w, "\n%s: no problem found\n", r.Home)
	} else {
		fmt.Fprintf(w, "\n%s: problems found (FAIL lines above)\n", r.Home)
	}
}
