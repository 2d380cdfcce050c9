package cli

import (
	"io"
	"strconv"

	"github.com/idledger/idledger/chain"
	"github.com/spf13/cobra"
)

// The governance reads, under query: query proposal ID and query
// proposals. Their view (proposalView) is gov.go's, shared with what gov
// propose and gov vote print.

func newQueryProposalCommand(q *queryFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "proposal ID",
		Short: "Show a governance proposal",
		Long: `Proposal shows a governance proposal: its action, status (open, executed,
expired, failed), the governors who voted for it against the current
threshold, and what came of it.

Example:

  idledger query proposal 3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := q.connect()
			if err != nil {
				return err
			}
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil || id == 0 {
				return usagef("%q: a proposal ID is a positive number", args[0])
			}
			p, err := c.Proposal(cmd.Context(), id)
			if err != nil {
				return err
			}
			params, err := c.Params(cmd.Context())
			if err != nil {
				return err
			}
			v := viewProposal(p, params.GovernorThreshold)
			return q.output.print(cmd.OutOrStdout(), v, v.text)
		},
	}
}

func newQueryProposalsCommand(q *queryFlags) *cobra.Command {
	var open bool
	cmd := &cobra.Command{
		Use:   "proposals [--open]",
		Short: "List governance proposals",
		Long: `Proposals lists the governance proposals, oldest first (--open: only those
still open for votes).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := q.connect()
			if err != nil {
				return err
			}
			ps, err := c.Proposals(cmd.Context())
			if err != nil {
				return err
			}
			params, err := c.Params(cmd.Context())
			if err != nil {
				return err
			}
			vs := []proposalView{}
			for _, p := range ps {
				if !open || p.Status == chain.ProposalOpen {
					vs = append(vs, viewProposal(p, params.GovernorThreshold))
				}
			}
			return q.output.print(cmd.OutOrStdout(), vs, func(w io.Writer) {
				for _, v := range vs {
					v.text(w)
				}
			})
		},
	}
	cmd.Flags().BoolVar(&open, "open", false, "only open proposals")
	return cmd
}
