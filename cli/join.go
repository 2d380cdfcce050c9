package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/node"
)

func newJoinCommand() *cobra.Command {
	var (
		home, genesisFile, rpcs, peers string
		trustPeriod                    time.Duration
		output                         *output
	)
	cmd := &cobra.Command{
		Use:   "join --home HOME --genesis genesis.json --rpc URL,URL [--peers NODEID@HOST:PORT,...]",
		Short: "Prepare a new node to join a running network by state sync",
		Long: `Join prepares a home made with "idledger init --keys-only" to join a running
network, even one whose nodes have pruned their old blocks:

  - it installs the network's genesis (as "idledger genesis install") and
    makes the member nodes it records persistent peers (--peers overrides);
  - it fetches a recent block height and header hash from the RPC servers
    given with --rpc (at least two, run by different organisations), and
    refuses if they disagree;
  - it turns on CometBFT's state sync with that height and hash as the
    light client's root of trust (statesync.enable, rpc_servers,
    trust_height, trust_hash, trust_period).

"idledger start" then restores the newest snapshot the peers offer, checks
its app hash against the light-client-verified header, and catches up on
the blocks after it. The node may peer only once governance has added its
organisation and node (idledger gov propose add-member --from-request);
it runs as a full node, and governance can make it a validator later.

Example:

  idledger init --home shop --keys-only --member shop --chain-id jp-attest-1 \
      --p2p-addr 10.0.0.5:26656
  idledger genesis join-request --home shop --roles attester > shop.json
  # a governor: idledger gov propose add-member --from-request shop.json ...
  idledger join --home shop --genesis genesis.json \
      --rpc http://10.0.0.1:26657,http://10.0.0.2:26657
  idledger start --home shop`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFlags(cmd, output, "genesis", "rpc"); err != nil {
				return err
			}
			raw, err := os.ReadFile(genesisFile)
			if err != nil {
				return err
			}
			o := node.JoinOptions{Genesis: raw, RPCServers: splitList(rpcs), TrustPeriod: trustPeriod}
			if len(o.RPCServers) < 2 {
				return usagef("--rpc: give two or more RPC URLs of nodes run by different organisations")
			}
			if cmd.Flags().Changed("peers") {
				o.Peers = splitList(peers)
				if o.Peers == nil {
					o.Peers = []string{}
				}
			}
			res, err := node.Join(cmd.Context(), home, o)
			if err != nil {
				return err
			}
			return output.print(cmd.OutOrStdout(), res, func(w io.Writer) {
				printInstall(w, &res.InstallResult)
				fmt.Fprintf(w, "State sync on:\n")
				fmt.Fprintf(w, "  trusted height:   %d\n", res.TrustHeight)
				fmt.Fprintf(w, "  trusted hash:     %s\n", res.TrustHash)
				fmt.Fprintf(w, "  trust period:     %s\n", res.TrustPeriod)
				for _, u := range res.RPCServers {
					fmt.Fprintf(w, "  rpc server:       %s\n", u)
				}
			})
		},
	}
	f := cmd.Flags()
	addHomeFlag(f, &home)
	f.StringVar(&genesisFile, "genesis", "", "the network's genesis.json (required)")
	f.StringVar(&rpcs, "rpc", "", "comma-separated RPC URLs of two or more independent nodes (required)")
	f.StringVar(&peers, "peers", "", "comma-separated NODEID@host:port persistent peers instead of the genesis members' nodes")
	f.DurationVar(&trustPeriod, "trust-period", 0, "light client trusting period (default 168h)")
	output = addOutputFlag(cmd)
	return cmd
}
