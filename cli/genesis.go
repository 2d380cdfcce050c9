package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/internal/atomicfile"
	"github.com/idledger/idledger/node"
)

func newGenesisCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "genesis",
		Short: "Make a network's genesis with other organisations (the genesis ceremony)",
		Long: `The genesis ceremony makes a network of several organisations in which no
private key leaves its organisation:

  1. Each organisation makes its keys and config, and no genesis:
       idledger init --home H --keys-only --member ID --chain-id CHAIN \
           --p2p-addr HOST:PORT --rpc-addr HOST:PORT
  2. Each one writes a join request (public keys, node ID, address, the
     roles it asks for, signed with its member key) and sends it to the
     coordinator:
       idledger genesis join-request --home H > ID.json
  3. The coordinator checks them all and assembles the genesis:
       idledger genesis assemble --chain-id CHAIN --anchor CA.crt A.json B.json ... > genesis.json
  4. Every organisation checks what it received and compares the printed
     hash with the others out of band:
       idledger genesis verify --home H genesis.json
  5. and installs it (the other members' nodes become persistent peers):
       idledger genesis install --home H genesis.json
       idledger start --home H

docs/operators.md walks through it.`,
	}
	cmd.AddCommand(newJoinRequestCommand(), newAssembleCommand(), newGenesisVerifyCommand(), newGenesisInstallCommand())
	return cmd
}

func newJoinRequestCommand() *cobra.Command {
	var (
		home, p2p, roles string
		outFile          string
	)
	cmd := &cobra.Command{
		Use:   "join-request [--home HOME] [--p2p-address HOST:PORT] [--roles R,...] > NAME.json",
		Short: "Write this organisation's signed join request",
		Long: `Join-request writes, on stdout, the request of the home's organisation to be a
member of the chain named at init: its member ID and name, its member key,
its node's ID and consensus key, the address its node advertises to peers
(--p2p-address, default the config's p2p address), and the roles it asks
for (--roles, default every role: governor, attester, revoker, validator).
It is signed with the member key. It holds no private key: send it to the
genesis coordinator, or, to join a running network, to a governor
(idledger gov propose add-member --from-request NAME.json).

Examples:

  idledger genesis join-request --home bank-a > bank-a.json
  idledger genesis join-request --home shop --roles attester \
      --p2p-address node.shop.example:26656 > shop.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := node.MakeJoinRequest(home, node.JoinRequestOptions{P2PAddress: p2p, Roles: splitList(roles)})
			if err != nil {
				return err
			}
			if outFile != "" {
				return writeNewFile(outFile, r.Encode())
			}
			_, err = cmd.OutOrStdout().Write(r.Encode())
			return err
		},
	}
	f := cmd.Flags()
	addHomeFlag(f, &home)
	f.StringVar(&p2p, "p2p-address", "", "host:port where this node listens for peers (default the config's p2p address)")
	f.StringVar(&roles, "roles", strings.Join(chain.AllRoles, ","), "comma-separated roles asked for: governor, attester, revoker, validator")
	f.StringVar(&outFile, "out", "", "write the request to this file instead of stdout (refuses to overwrite)")
	return cmd
}

func newAssembleCommand() *cobra.Command {
	var (
		chainID    string
		anchors    []string
		threshold  uint32
		retention  int64
		outFile    string
		claimTypes []string
	)
	cmd := &cobra.Command{
		Use:   "assemble --chain-id ID --anchor CA.crt [--governor-threshold N] REQ.json... > genesis.json",
		Short: "Check join requests and assemble the genesis from them",
		Long: `Assemble checks every join request (its signature, keys, node ID, address and
roles) and writes, on stdout, the genesis: one member per request, with its
node ID and advertised p2p address recorded, one validator (power 10) per
request that asks for the validator role, the JPKI trust anchors given with
--anchor, and the default parameters with a governor threshold of a
majority of the governors (--governor-threshold overrides it).

It refuses, naming the request, a bad signature, a bad key, an unknown
role, a request for another chain, and two requests with the same member
ID, member key, node ID, consensus key or p2p address.

Example:

  idledger genesis assemble --chain-id jp-attest-1 --anchor jpki-auth-ca.pem \
      bank-a.json bank-b.json transit.json city.json > genesis.json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd, "chain-id", "anchor"); err != nil {
				return err
			}
			if len(args) == 0 {
				return usagef("give the join request files")
			}
			var reqs []*genesis.JoinRequest
			for _, p := range args {
				r, err := readJoinRequest(p)
				if err != nil {
					return err
				}
				reqs = append(reqs, r)
			}
			as, err := node.ReadAnchorFiles(anchors)
			if err != nil {
				return err
			}
			opts := genesis.AssembleOptions{ChainID: chainID, Anchors: as, GovernorThreshold: threshold, BlockRetention: retention, ClaimTypes: claimTypes}
			doc, err := genesis.AssembleDoc(opts, reqs)
			if err != nil {
				return err
			}
			b, err := cmtJSON(doc)
			if err != nil {
				return err
			}
			if outFile != "" {
				return writeNewFile(outFile, b)
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&chainID, "chain-id", "", "chain ID (required; every request must name it)")
	f.StringArrayVar(&anchors, "anchor", nil, "PEM file of a JPKI root CA certificate to trust (required; repeatable)")
	f.Uint32Var(&threshold, "governor-threshold", 0, "approvals a proposal needs (default a majority of the governors)")
	f.Int64Var(&retention, "block-retention", 0, "keep only this many recent block bodies (0 keeps all)")
	f.StringVar(&outFile, "out", "", "write the genesis to this file instead of stdout (refuses to overwrite)")
	f.StringSliceVar(&claimTypes, "claim-types", nil, "claim types the genesis registers for every attester (default kyc,ticket,fare-eligibility; see docs/claim-types.md)")
	return cmd
}

func readJoinRequest(path string) (*genesis.JoinRequest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := genesis.DecodeJoinRequest(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// addMemberFromRequest builds gov propose add-member --from-request's
// action (which takes no other member flags): the member the join request
// file asks for, once its signature checks and its chain is the node's.
func addMemberFromRequest(cmd *cobra.Command, path string) (func(context.Context, *client.Client) (*chainpb.GovAction, error), error) {
	for _, n := range []string{"id", "name", "pub-key", "pub-key-file", "roles", "node-id"} {
		if cmd.Flags().Changed(n) {
			return nil, usagef("--from-request takes the member from the request; do not give --%s", n)
		}
	}
	r, err := readJoinRequest(path)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, c *client.Client) (*chainpb.GovAction, error) {
		id, err := c.ChainID(ctx)
		if err != nil {
			return nil, err
		}
		if id != r.Body.ChainID {
			return nil, fmt.Errorf("%s: the join request is for chain %q, but the node runs %q", path, r.Body.ChainID, id)
		}
		return &chainpb.GovAction{Action: &chainpb.GovAction_AddMember{AddMember: r.Member()}}, nil
	}, nil
}

func newGenesisVerifyCommand() *cobra.Command {
	var home string
	var output *output
	cmd := &cobra.Command{
		Use:   "verify [--home HOME] genesis.json",
		Short: "Check a genesis and print its hash and its members and validators",
		Long: `Verify checks a genesis (CometBFT's rules and idledger's app state) and prints
its SHA-256 hash and the table of its members and validators, marking this
home's own entries. Compare the hash with the other organisations' out of
band (phone, signed mail) before installing it: the same hash means the
same genesis, byte for byte.

Example:

  idledger genesis verify --home bank-a genesis.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := readGenesisArg(output, args[0])
			if err != nil {
				return err
			}
			sum, err := genesis.Summarize(raw)
			if err != nil {
				return err
			}
			self := homeNodeID(home)
			return output.print(cmd.OutOrStdout(), sum, func(w io.Writer) { printSummary(w, sum, self) })
		},
	}
	addHomeFlag(cmd.Flags(), &home)
	output = addOutputFlag(cmd)
	return cmd
}

// readGenesisArg checks -o and reads the genesis file that genesis verify
// and genesis install take as their argument.
func readGenesisArg(o *output, path string) ([]byte, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// homeNodeID is the node ID of home's node key, or "" without one.
func homeNodeID(home string) string {
	c, err := node.LoadConfig(home)
	if err != nil {
		return ""
	}
	nk, err := loadNodeKey(c.NodeKeyFile())
	if err != nil {
		return ""
	}
	return nk
}

func printSummary(w io.Writer, sum *genesis.Summary, self string) {
	fmt.Fprintf(w, "genesis hash:       %s\n", sum.Hash)
	fmt.Fprintf(w, "chain ID:           %s\n", sum.ChainID)
	fmt.Fprintf(w, "genesis time:       %s\n", sum.GenesisTime.Format("2006-01-02T15:04:05.000Z07:00"))
	fmt.Fprintf(w, "governor threshold: %d\n", sum.GovernorThreshold)
	for _, a := range sum.Anchors {
		fmt.Fprintf(w, "trust anchor:       %s\n", a)
	}
	fmt.Fprintln(w, "\nmembers:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tNAME\tROLES\tNODE ID\tP2P ADDRESS\t")
	for _, m := range sum.Members {
		mark := ""
		if self != "" && slices.Contains(m.NodeIDs, self) {
			mark = "  <- this home"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Name, strings.Join(m.Roles, ","), strings.Join(m.NodeIDs, ","), m.P2PAddress, mark)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nvalidators:")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  MEMBER\tADDRESS\tPOWER\t")
	for _, v := range sum.Validators {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t\n", v.Member, v.Address, v.Power)
	}
	tw.Flush()
}

func newGenesisInstallCommand() *cobra.Command {
	var (
		home, peers string
		output      *output
	)
	cmd := &cobra.Command{
		Use:   "install [--home HOME] [--peers NODEID@HOST:PORT,...] genesis.json",
		Short: "Put a genesis in place and peer with the other members' nodes",
		Long: `Install checks a genesis, copies it byte for byte to HOME/config/genesis.json,
and sets the node's persistent peers to every other member node that the
genesis records with an address (--peers overrides them; --peers "" sets
none). It refuses to replace a different genesis. Start the node next.

Example:

  idledger genesis install --home bank-a genesis.json
  idledger start --home bank-a`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := readGenesisArg(output, args[0])
			if err != nil {
				return err
			}
			var ps []string
			if cmd.Flags().Changed("peers") {
				ps = splitList(peers)
				if ps == nil {
					ps = []string{}
				}
			}
			res, err := node.InstallGenesis(home, raw, ps)
			if err != nil {
				return err
			}
			return output.print(cmd.OutOrStdout(), res, func(w io.Writer) { printInstall(w, res) })
		},
	}
	addHomeFlag(cmd.Flags(), &home)
	cmd.Flags().StringVar(&peers, "peers", "", "comma-separated NODEID@host:port persistent peers instead of the genesis members' nodes")
	output = addOutputFlag(cmd)
	return cmd
}

func printInstall(w io.Writer, res *node.InstallResult) {
	fmt.Fprintf(w, "Installed the genesis of chain %s in %s\n", res.ChainID, res.GenesisFile)
	fmt.Fprintf(w, "  genesis hash:     %s\n", res.Hash)
	if res.Member != "" {
		fmt.Fprintf(w, "  this node:        member %s's\n", res.Member)
	} else {
		fmt.Fprintf(w, "  this node:        not in the genesis (it may peer once governance adds it)\n")
	}
	for _, p := range res.Peers {
		fmt.Fprintf(w, "  persistent peer:  %s\n", p)
	}
	fmt.Fprintf(w, "Start it with: idledger start --home %s\n", res.Home)
}

// writeNewFile writes b to path (crash-safe), refusing to overwrite it.
func writeNewFile(path string, b []byte) error {
	if err := atomicfile.WriteNew(path, b, 0o644); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists; refusing to overwrite it", path)
		}
		return err
	}
	return nil
}

// cmtJSON encodes a genesis the way CometBFT writes genesis.json.
func cmtJSON(doc *cmttypes.GenesisDoc) ([]byte, error) {
	b, err := cmtjson.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func loadNodeKey(path string) (string, error) {
	nk, err := p2p.LoadNodeKey(path)
	if err != nil {
		return "", err
	}
	return string(nk.ID()), nil
}
