package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/client"
)

type broadcastEvent struct {
	Type       string            `json:"type"`
	Attributes map[string]string `json:"attributes"`
}

type broadcastResult struct {
	TxHash string           `json:"tx_hash"`
	Height int64            `json:"height"`
	Index  uint32           `json:"index"`
	Code   uint32           `json:"code"`
	Log    string           `json:"log,omitempty"`
	Events []broadcastEvent `json:"events"`
}

func newBroadcastCommand() *cobra.Command {
	var (
		nodeURL string
		timeout time.Duration
		output  *output
	)
	cmd := &cobra.Command{
		Use:   "broadcast FILE [--node URL]",
		Short: "Submit a transaction signed offline and wait for its commit",
		Long: `Broadcast sends a transaction that a command made with --generate-only
(attest, revoke attestation, revoke subjects, gov propose ..., gov vote)
and waits until it is committed in a block. FILE holds the exact signed
bytes; "-" reads them from stdin. Holder and member can so sign on
machines without a network and hand the file to one that has one.

The node checks everything as for any transaction: a file that was changed
in any byte is refused with the chain's code and reason, never accepted
with another meaning. A committed transaction prints its height and
events; one refused in its block prints the reason and exits 1.

Example:

  idledger attest --generate-only --chain-id demo --member bank-a --sequence 7 \
      --signer plugin:gpse --member-key bank-a.pem --claim-type kyc --claim-file c.txt > tx.bin
  idledger broadcast tx.bin --node http://127.0.0.1:26657`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect(output, nodeURL)
			if err != nil {
				return err
			}
			tx, err := readTxFile(cmd, args[0])
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			r, err := c.Submit(ctx, tx)
			if err != nil {
				return err
			}
			if err := r.Err(); err != nil {
				return err
			}
			res := broadcastResult{TxHash: fmt.Sprintf("%X", r.Hash), Height: r.Height, Index: r.Index, Code: r.Code, Log: r.Log, Events: []broadcastEvent{}}
			for _, e := range r.Events {
				be := broadcastEvent{Type: e.Type, Attributes: map[string]string{}}
				for _, a := range e.Attributes {
					be.Attributes[a.Key] = a.Value
				}
				res.Events = append(res.Events, be)
			}
			return output.print(cmd.OutOrStdout(), res, func(w io.Writer) {
				fmt.Fprintf(w, "transaction %s committed at height %d\n", res.TxHash, res.Height)
				for _, e := range r.Events {
					fmt.Fprintf(w, "  %s:", e.Type)
					for _, a := range e.Attributes {
						fmt.Fprintf(w, " %s=%s", a.Key, a.Value)
					}
					fmt.Fprintln(w)
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&nodeURL, "node", client.DefaultNodeURL, "node RPC URL")
	f.DurationVar(&timeout, "timeout", time.Minute, "how long to wait for the commit")
	output = addOutputFlag(cmd)
	return cmd
}

// readTxFile reads a signed transaction, at most the chain's size limit.
func readTxFile(cmd *cobra.Command, path string) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		r = cmd.InOrStdin()
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	tx, err := io.ReadAll(io.LimitReader(r, chain.MaxTxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case len(tx) == 0:
		return nil, fmt.Errorf("%s is empty: want a transaction made with --generate-only", path)
	case len(tx) > chain.MaxTxSize:
		return nil, fmt.Errorf("%s is over the chain's transaction limit of %d bytes: not a transaction made with --generate-only", path, chain.MaxTxSize)
	}
	return tx, nil
}
