package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/explorer"
)

func newExplorerCommand() *cobra.Command {
	var (
		rpcURL, listen       string
		trust                trustFlags
		trustPeriod, timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "explorer --rpc URL --listen 127.0.0.1:PORT [--genesis F | --home H | --trust-height N --trust-hash H]",
		Short: "Serve a read-only web explorer of the chain",
		Long: `Explorer serves a small read-only web site about the chain a node serves
(--rpc), for operators, auditors and relying parties: plain HTML made on
the server, no script.

  /                    the network: height, validators and their power,
                       members, the claim-type registry, counts of
                       attestations and revocations
  /block?height=N      one block (the latest without a height): its header,
                       verified with the light client, and its transactions
                       by kind and signer
  /attestation?id=ID   one attestation, read with a Merkle proof
  /status?subject=S&claim_type=K
                       valid / revoked / expired / none for an identity
                       commitment, with the type's registry entry, both
                       proven against one light-client-verified header
  /proposals           the open governance proposals

Every page says whether its header and proof verified. Verification
starts from the genesis in --genesis or --home (HOME/config/genesis.json),
or from --trust-height/--trust-hash; without them, from the genesis the
node itself serves, and every page says so.

The explorer never asks for or shows personal data: a holder is looked up
by identity commitment only (idledger query status --cert computes it),
and blocks are shown without the certificates they carry. It listens on
--listen (default 127.0.0.1:26680); put it behind a reverse proxy to
publish it. It runs until interrupted.

Example:

  idledger explorer --rpc http://127.0.0.1:26657 --listen 127.0.0.1:26680 --home node`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, warning, err := explorerClientOptions(cmd, &trust, trustPeriod, listen)
			if err != nil {
				return err
			}
			c, err := client.New(rpcURL, opts...)
			if err != nil {
				return err
			}
			srv, err := explorer.New(c, timeout)
			if err != nil {
				return err
			}
			srv.Warning = warning
			return serveExplorer(cmd, srv, rpcURL, listen)
		},
	}
	f := cmd.Flags()
	f.StringVar(&rpcURL, "rpc", client.DefaultNodeURL, "node RPC URL to read from")
	f.StringVar(&listen, "listen", "127.0.0.1:26680", "address to serve the explorer on, host:port")
	f.StringVar(&trust.home, "home", defaultHome(), "verify from the genesis of this node home")
	f.StringVar(&trust.genesis, "genesis", "", "verify from this genesis file")
	f.Int64Var(&trust.height, "trust-height", 0, "verify from this trusted block height")
	f.StringVar(&trust.hash, "trust-hash", "", "the trusted block's hash (hex)")
	f.DurationVar(&trustPeriod, "trust-period", client.DefaultTrustPeriod, "how long a trusted block stays a valid starting point")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "how long one page may take")
	return cmd
}

// explorerClientOptions checks the explorer's flags and returns the options
// of its client, and the warning every page shows when it verifies from the
// genesis the node serves (printed to stderr too).
func explorerClientOptions(cmd *cobra.Command, trust *trustFlags, trustPeriod time.Duration, listen string) ([]client.Option, string, error) {
	fl := cmd.Flags()
	n := 0
	for _, set := range []bool{fl.Changed("home"), fl.Changed("genesis"), trustSet(fl)} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, "", usagef("give one of --home, --genesis or --trust-height/--trust-hash")
	}
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return nil, "", usagef("--listen %q: want host:port, e.g. 127.0.0.1:26680", listen)
	}
	opts := []client.Option{client.WithTrustPeriod(trustPeriod)}
	root, err := trust.root(fl)
	if err != nil {
		return nil, "", err
	}
	if root != nil {
		return append(opts, root), "", nil
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "idledger: explorer: warning: verifying from the genesis the node itself serves; pass --home or --genesis")
	return opts, "Verifying from the genesis the node itself serves: start the explorer with --genesis or --home to verify against a genesis you hold.", nil
}

// serveExplorer serves srv on listen until the command's context ends,
// then shuts the server down.
func serveExplorer(cmd *cobra.Command, srv http.Handler, rpcURL, listen string) error {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("explorer: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(cmd.OutOrStdout(), "explorer of %s on http://%s/\n", rpcURL, l.Addr())
	done := make(chan error, 1)
	go func() { done <- hs.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("explorer: %w", err)
	case <-cmd.Context().Done():
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("explorer: %w", err)
	}
	return nil
}
