package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/testnet"
)

func newInitCommand() *cobra.Command {
	var (
		home   string
		opts   node.InitOptions
		cfg    node.ConfigOptions
		peers  string
		appCfg = node.DefaultAppConfig()
		output *output
	)
	cmd := &cobra.Command{
		Use:   "init --chain-id ID (--anchor CA.pem | --keys-only --member ID) [flags]",
		Short: "Make a node home: a single-validator chain, or keys for a genesis ceremony",
		Long: `Init makes a node home with CometBFT's layout:

  HOME/config/config.toml              RPC and p2p on 127.0.0.1, peers filtered by the chain
  HOME/config/genesis.json             the chain: validator, members, trust anchors, parameters
  HOME/config/node_key.json            the node's p2p identity
  HOME/config/priv_validator_key.json  the node's consensus key
  HOME/config/member_key.pem           the operator member's ed25519 key (keep it secret)
  HOME/data/                           blocks and state

The genesis names one validator (this node) and one member, the operator,
with every role (attester, governor, revoker, validator). Its trust anchors
are the JPKI root CA certificates given with --anchor (PEM); each one's kind,
user-authentication or digital-signature, is read from the certificate. At
least one user-authentication CA is needed.

With --keys-only, init makes the keys (node, consensus, member), config.toml
and app.toml, and no genesis: the start of a genesis ceremony with other
organisations, or of joining a running network. See "idledger genesis
--help" and "idledger join --help".

Every home takes a state-sync snapshot every --snapshot-interval heights
(HOME/config/app.toml), so that new nodes can join by state sync.

Init refuses a home that already holds a node.

Examples:

  # a local test chain trusting a test CA (see: idledger ca init)
  idledger init --home node --chain-id demo --anchor ca/ca.crt

  # production-like: the J-LIS user-authentication root, your member ID
  idledger init --home /var/lib/idledger --chain-id jp-attest-1 \
      --anchor jpki-auth-ca-2023.pem --member acme-bank --member-name "ACME Bank"

  # one organisation's part of a genesis ceremony
  idledger init --home bank-a --keys-only --member bank-a --chain-id jp-attest-1 \
      --p2p-addr 10.0.0.1:26656 --rpc-addr 10.0.0.1:26657`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := output.check(); err != nil {
				return err
			}
			if opts.KeysOnly {
				if err := requireFlags(cmd, "chain-id", "member"); err != nil {
					return err
				}
				if cmd.Flags().Changed("anchor") {
					return usagef("--keys-only makes no genesis: give the anchors to idledger genesis assemble")
				}
			} else if err := requireFlags(cmd, "chain-id", "anchor"); err != nil {
				return err
			}
			opts.App = &appCfg
			if peers != "" {
				cfg.PersistentPeers = strings.Split(peers, ",")
			}
			opts.Home, opts.Config = home, cfg
			res, err := node.Init(opts)
			if err != nil {
				return err
			}
			if opts.KeysOnly {
				return output.print(cmd.OutOrStdout(), res, func(w io.Writer) {
					fmt.Fprintf(w, "Made the keys and config of node home %s (no genesis yet)\n", res.Home)
					fmt.Fprintf(w, "  chain ID:       %s\n", res.ChainID)
					fmt.Fprintf(w, "  node ID:        %s\n", res.NodeID)
					fmt.Fprintf(w, "  member:         %s\n", res.MemberID)
					fmt.Fprintf(w, "  member key:     %s (keep it secret)\n", res.MemberKeyFile)
					fmt.Fprintf(w, "Next: idledger genesis join-request --home %s > %s.json\n", res.Home, res.MemberID)
				})
			}
			return output.print(cmd.OutOrStdout(), res, func(w io.Writer) {
				fmt.Fprintf(w, "Initialized node home %s\n", res.Home)
				fmt.Fprintf(w, "  chain ID:       %s\n", res.ChainID)
				fmt.Fprintf(w, "  node ID:        %s\n", res.NodeID)
				fmt.Fprintf(w, "  member:         %s (every role)\n", res.MemberID)
				fmt.Fprintf(w, "  member key:     %s\n", res.MemberKeyFile)
				for _, a := range res.Anchors {
					fmt.Fprintf(w, "  trust anchor:   %s\n", a)
				}
				fmt.Fprintf(w, "  RPC:            %s\n", res.RPCURL)
				fmt.Fprintf(w, "Start it with: idledger start --home %s\n", res.Home)
			})
		},
	}
	f := cmd.Flags()
	addHomeFlag(f, &home)
	f.StringVar(&opts.ChainID, "chain-id", "", "chain ID (required)")
	f.StringArrayVar(&opts.AnchorFiles, "anchor", nil, "PEM file of a JPKI root CA certificate to trust (required; repeatable)")
	f.StringVar(&opts.MemberID, "member", node.DefaultMemberID, "the operator's member ID (a-z 0-9 -)")
	f.StringVar(&opts.MemberName, "member-name", "", "the operator's display name")
	f.StringSliceVar(&opts.ClaimTypes, "claim-types", nil, "claim types the genesis registers for the operator (default kyc,ticket,fare-eligibility; see docs/claim-types.md)")
	f.StringVar(&cfg.Moniker, "moniker", "", "node name shown to peers (default \"idledger\")")
	f.StringVar(&cfg.RPCAddr, "rpc-addr", node.DefaultRPCAddr, "RPC listen address, host:port")
	f.StringVar(&cfg.P2PAddr, "p2p-addr", node.DefaultP2PAddr, "p2p listen address, host:port")
	f.StringVar(&cfg.PrometheusAddr, "prometheus-addr", "", "serve Prometheus metrics at host:port (default off)")
	f.StringVar(&peers, "persistent-peers", "", "comma-separated NODEID@host:port peers to stay connected to")
	f.BoolVar(&cfg.Fast, "fast", false, "short consensus timeouts (a block every ~250ms) for tests and local testnets")
	f.StringVar(&cfg.LogLevel, "log-level", "", "CometBFT log level, e.g. info or \"consensus:info,*:error\" (default info)")
	f.StringVar(&cfg.LogFormat, "log-format", "", "log format: plain or json (default plain)")
	f.BoolVar(&opts.KeysOnly, "keys-only", false, "make the keys and config only, no genesis (genesis ceremony, joining)")
	f.Int64Var(&appCfg.SnapshotInterval, "snapshot-interval", node.DefaultSnapshotInterval, "take a state-sync snapshot every N heights (0: never)")
	f.Uint32Var(&appCfg.SnapshotKeepRecent, "snapshot-keep-recent", node.DefaultSnapshotKeepRecent, "how many snapshots to keep")
	output = addOutputFlag(cmd)
	return cmd
}

func newStartCommand() *cobra.Command {
	var home, appName string
	var feedListen, feedPeers []string
	cmd := &cobra.Command{
		Use:   "start [--home HOME] [--feed-listen MULTIADDR [--feed-peer MULTIADDR]...]",
		Short: "Run a node",
		Long: `Start runs the node of a home made by idledger init: CometBFT consensus, p2p
and RPC with the idledger application in the same process. It logs to
stderr (structured; config.toml's log_format json for JSON lines) and runs
until interrupted (Ctrl-C, SIGTERM), then stops cleanly. A restarted node
resumes where it stopped.

With priv_validator_laddr set in config.toml the validator key is not read
from the home: the node waits for a remote signer (idledger signer run).
At a governance-scheduled upgrade this binary does not know, the node halts
before executing the upgrade height and exits with status 3 (see
docs/operators.md); a binary without the upgrade refuses to start past it.

With --feed-listen the node also publishes the verifier feed over libp2p
gossipsub: every committed block's signed header and commit and the status
records it changed, with proofs, for light verifiers at gates and terminals
(idledger verifier run). Its multiaddrs are logged at start.

Examples:

  idledger start --home node
  idledger start --home node --feed-listen /ip4/127.0.0.1/tcp/26690`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			newApp, err := testnet.AppFactory(appName)
			if err != nil {
				return usageError{err}
			}
			opts := node.StartOptions{LogWriter: cmd.ErrOrStderr(), App: newApp}
			if len(feedListen) > 0 {
				opts.Feed = &node.FeedOptions{ListenAddrs: feedListen, Peers: feedPeers}
			} else if len(feedPeers) > 0 {
				return usagef("--feed-peer needs --feed-listen")
			}
			return node.Run(cmd.Context(), home, opts)
		},
	}
	addHomeFlag(cmd.Flags(), &home)
	// Hidden: run CometBFT's kvstore example app instead, to measure
	// idledger against (see idledger testnet init --app).
	cmd.Flags().StringVar(&appName, "app", testnet.AppIdledger, "application: idledger or kvstore (load comparisons only)")
	_ = cmd.Flags().MarkHidden("app")
	cmd.Flags().StringSliceVar(&feedListen, "feed-listen", nil, "publish the verifier feed on this libp2p multiaddr (loopback, e.g. /ip4/127.0.0.1/tcp/26690)")
	cmd.Flags().StringSliceVar(&feedPeers, "feed-peer", nil, "another node's feed multiaddr (with /p2p/ID) to gossip with")
	return cmd
}
