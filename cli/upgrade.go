package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
)

// ExitUpgradeNeeded is the exit status of "idledger start" when the node
// halts for (or refuses to start past) an upgrade its binary does not know.
const ExitUpgradeNeeded = app.ExitCodeUpgradeNeeded

func newProposeUpgradeCommand(g *govFlags) *cobra.Command {
	var (
		name   string
		height int64
	)
	cmd := &cobra.Command{
		Use:   "upgrade --name NAME --height H",
		Short: "Propose a software upgrade at a height, without a fork",
		Long: fmt.Sprintf(`Upgrade proposes a coordinated software upgrade. Once executed, every node
commits block H-1, precommits block H, and halts before executing block H,
logging "UPGRADE \"NAME\" NEEDED at height H" and exiting with status %d.
Operators then install the release that knows the upgrade NAME and start
their nodes again: the new binary runs the upgrade's migration at the start
of block H and the chain goes on. A binary that does not know NAME refuses
to start past H (same exit status). A later upgrade proposal replaces a
scheduled one. Pick H far enough ahead for the proposal to pass and
operators to prepare (at a block every few seconds, 17280 blocks is about a
day); query upgrade shows the scheduled upgrade once the proposal executed.

Example:

  idledger gov propose upgrade --name v0.2.0 --height 250000 --member-key gov_key.pem`, ExitUpgradeNeeded),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "name", "height"); err != nil {
				return err
			}
			return propose(cmd, g, static(&chainpb.GovAction{Action: &chainpb.GovAction_Upgrade{Upgrade: &chainpb.UpgradePlan{
				Name: name, Height: height,
			}}}))
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the upgrade's name, as the new release registers it: a lowercase letter, then a-z 0-9 in groups joined by . - _, at most 64 bytes (required)")
	cmd.Flags().Int64Var(&height, "height", 0, "the first height the new release executes (required)")
	return cmd
}

type upgradeView struct {
	// Scheduled is the scheduled upgrade, or null.
	Scheduled *upgradePlanView `json:"scheduled"`
	// Height is the state height read at.
	Height int64 `json:"height"`
}

type upgradePlanView struct {
	Name   string `json:"name"`
	Height int64  `json:"height"`
	// BlocksLeft is how many blocks until the nodes halt (0: at the next).
	BlocksLeft int64 `json:"blocks_left"`
}

func newQueryUpgradeCommand(q *queryFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "upgrade",
		Short: "Show the scheduled software upgrade, if any",
		Long: `Upgrade shows the software upgrade scheduled by governance (gov propose
upgrade): its name and the height every node halts before executing, until
it runs a release that knows the name.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := q.connect()
			if err != nil {
				return err
			}
			b, h, err := c.Get(cmd.Context(), chain.UpgradePlanKey())
			if err != nil {
				return err
			}
			v := upgradeView{Height: h}
			if b != nil {
				var p chainpb.UpgradePlan
				if err := proto.Unmarshal(b, &p); err != nil {
					return fmt.Errorf("the upgrade plan does not decode: %w", err)
				}
				v.Scheduled = &upgradePlanView{Name: p.Name, Height: p.Height, BlocksLeft: max(0, p.Height-h-1)}
			}
			return q.output.print(cmd.OutOrStdout(), v, func(w io.Writer) {
				if v.Scheduled == nil {
					fmt.Fprintf(w, "no upgrade scheduled (height %d)\n", v.Height)
					return
				}
				fmt.Fprintf(w, "upgrade %q at height %d: the nodes halt before executing it, in %d blocks (now at %d)\n",
					v.Scheduled.Name, v.Scheduled.Height, v.Scheduled.BlocksLeft, v.Height)
			})
		},
	}
}
