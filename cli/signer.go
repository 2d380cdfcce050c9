package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/valsigner"
)

func newSignerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "signer",
		Short: "Keep the validator key off the node: a remote signer",
	}
	cmd.AddCommand(newSignerRunCommand())
	return cmd
}

func newSignerRunCommand() *cobra.Command {
	var home, nodeAddr, keyPath, statePath, chainID string
	cmd := &cobra.Command{
		Use:   "run --node tcp://HOST:PORT|unix:///PATH [--home HOME] [--key FILE] [--state FILE]",
		Short: "Sign a node's votes and proposals from another process or machine",
		Long: `Signer run holds the validator's consensus key and answers a node's signing
requests over CometBFT's privval protocol. The node listens on its
priv_validator_laddr (config.toml, e.g. "tcp://127.0.0.1:26659" or
"unix:///run/idledger/pv.sock") instead of reading priv_validator_key.json;
the signer dials it, and keeps redialling while the node is down or
restarting. Start the signer before the node, or within 30 seconds of it:
the node waits that long for a signer at start, then gives up.

The key is HOME/config/priv_validator_key.json and the sign state
HOME/data/priv_validator_state.json (as config.toml names them, when HOME
has one), or --key and --state. The sign state records the last height,
round and step signed; the signer refuses to sign a different vote or
proposal at the same or a lower height, round and step (a double sign), and
writes the state crash-safe before any signature leaves it. The same vote
asked again (a node restarted before saving its vote) gets the same
signature. Never run two signers, or a signer and a node's own key, for one
validator: a second signer on the same state file is refused (STATE.lock).

The chain ID is read from HOME/config/genesis.json, or --chain-id; requests
for another chain are refused.

Over TCP the connection is encrypted with CometBFT's secret connection; use
a unix socket, or a private network, between the signer and the node.

Example (signer machine; the node's config.toml has
priv_validator_laddr = "tcp://0.0.0.0:26659"):

  idledger signer run --home /var/lib/idledger-signer --node tcp://10.0.0.5:26659`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "node"); err != nil {
				return err
			}
			if _, _, err := valsigner.ParseAddr(nodeAddr); err != nil {
				return usageError{err}
			}
			defKey := filepath.Join(home, "config", "priv_validator_key.json")
			defState := filepath.Join(home, "data", "priv_validator_state.json")
			genesisFile := filepath.Join(home, "config", "genesis.json")
			if c, err := node.LoadConfig(home); err == nil {
				defKey, defState, genesisFile = c.PrivValidatorKeyFile(), c.PrivValidatorStateFile(), c.GenesisFile()
			}
			if keyPath == "" {
				keyPath = defKey
			}
			if statePath == "" {
				statePath = defState
			}
			if chainID == "" {
				doc, err := cmttypes.GenesisDocFromFile(genesisFile)
				if err != nil {
					if errors.Is(err, os.ErrNotExist) {
						return usagef("no genesis at %s: give --chain-id", genesisFile)
					}
					return fmt.Errorf("reading the chain ID: %w", err)
				}
				chainID = doc.ChainID
			}
			s, err := valsigner.Open(keyPath, statePath)
			if err != nil {
				return err
			}
			defer s.Close()
			logger := cmtlog.NewTMLogger(cmtlog.NewSyncWriter(cmd.ErrOrStderr())).With("module", "signer")
			return valsigner.Run(cmd.Context(), valsigner.RunOptions{Node: nodeAddr, ChainID: chainID, Signer: s, Logger: logger})
		},
	}
	f := cmd.Flags()
	addHomeFlag(f, &home)
	f.StringVar(&nodeAddr, "node", "", "the node's priv_validator_laddr: tcp://HOST:PORT or unix:///PATH (required)")
	f.StringVar(&keyPath, "key", "", "validator key file (default HOME/config/priv_validator_key.json)")
	f.StringVar(&statePath, "state", "", "sign-state file (default HOME/data/priv_validator_state.json)")
	f.StringVar(&chainID, "chain-id", "", "chain to sign for (default: from HOME/config/genesis.json)")
	return cmd
}
