package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/app"
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
day); query proposals shows it once executed.

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
	cmd.Flags().StringVar(&name, "name", "", "the upgrade's name, as the new release registers it (required)")
	cmd.Flags().Int64Var(&height, "height", 0, "the first height the new release executes (required)")
	return cmd
}
