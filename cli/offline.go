package cli

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/jpki"
)

// offlineFlags are --generate-only and --sequence, which every command that
// signs a transaction has (through memberFlags): with --generate-only the
// command builds and signs the transaction, writes its bytes to stdout and
// contacts no node; idledger broadcast sends the file later.
type offlineFlags struct {
	generateOnly bool
	sequence     uint64
}

func (o *offlineFlags) add(f *pflag.FlagSet) {
	f.BoolVar(&o.generateOnly, "generate-only", false,
		"build and sign the transaction and write it to stdout (> tx.bin) without contacting a node; needs --chain-id, and --member and --sequence when a member signs; send it with idledger broadcast")
	f.Uint64Var(&o.sequence, "sequence", 0, "with --generate-only: the signing member's next sequence number (idledger query members shows it)")
}

// newClient returns the client a signing command submits through: the
// node's at nodeURL, or with --generate-only one that writes the signed
// transaction to the command's stdout. memberSigned says whether a member
// key signs (which then needs --member and --sequence offline).
func (o *offlineFlags) newClient(cmd *cobra.Command, nodeURL, chainID, memberID string, memberSigned bool, opts ...client.Option) (*client.Client, error) {
	fl := cmd.Flags()
	if !o.generateOnly {
		if fl.Changed("sequence") {
			return nil, usagef("--sequence applies only with --generate-only (otherwise the node's is used)")
		}
		return client.New(nodeURL, opts...)
	}
	if fl.Changed("node") {
		return nil, usagef("--generate-only contacts no node: leave out --node")
	}
	if chainID == "" {
		return nil, usagef("--generate-only needs --chain-id: the node is not asked which chain it serves")
	}
	if memberSigned {
		if memberID == "" && memberFlagShadowed(cmd) {
			return nil, usagef("--generate-only needs the signing member's ID, and this command's --member names another member: sign it with a node")
		}
		if memberID == "" {
			return nil, usagef("--generate-only needs --member: the node is not asked which member the key belongs to")
		}
		if !fl.Changed("sequence") {
			return nil, usagef("--generate-only needs --sequence, the member's next sequence number (idledger query members shows it)")
		}
	}
	out := cmd.OutOrStdout()
	if f, ok := out.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return nil, usagef("--generate-only writes the signed transaction (binary) to stdout: redirect it to a file, such as > tx.bin")
		}
	}
	stderr := cmd.ErrOrStderr()
	opts = append(opts, client.WithGenerateOnly(client.Offline{
		ChainID: chainID, Member: memberID, Sequence: o.sequence,
		Write: func(tx []byte) error {
			if _, err := out.Write(tx); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "signed transaction written: %d bytes, hash %X, chain %s; send it with: idledger broadcast FILE\n",
				len(tx), sha256.Sum256(tx), chainID)
			return nil
		},
	}))
	return client.New(nodeURL, opts...)
}

// generateRevokeSubjects makes the one RevokeSubjects transaction of an
// offline revoke subjects: without the node there are no chain parameters
// to cut batches by, no progress file to resume from and no latest block
// time, so everything goes in one transaction (the chain refuses it if it
// holds more than max_revocations_per_tx) at the --effective time.
func generateRevokeSubjects(cmd *cobra.Command, c *client.Client, auth client.MemberAuth, subjects []jpki.RevokedSubject, reason string, eff time.Time) error {
	if eff.IsZero() {
		return usagef("--generate-only needs --effective: the node's latest block time cannot be read")
	}
	if cmd.Flags().Changed("state") {
		return usagef("--state does not apply with --generate-only: the one transaction is sent by idledger broadcast")
	}
	seen := map[[32]byte]bool{}
	var commitments [][]byte
	for _, s := range subjects {
		if !seen[s.Commitment] {
			seen[s.Commitment] = true
			commitments = append(commitments, bytes.Clone(s.Commitment[:]))
		}
	}
	slices.SortFunc(commitments, bytes.Compare)
	_, err := c.RevokeSubjects(cmd.Context(), auth, commitments, reason, eff.Unix())
	return err
}

// memberFlagShadowed reports whether cmd's own --member hides the signing
// member's --member of a parent (gov propose set-validator-power).
func memberFlagShadowed(cmd *cobra.Command) bool {
	if cmd.LocalNonPersistentFlags().Lookup("member") == nil {
		return false
	}
	for p := cmd.Parent(); p != nil; p = p.Parent() {
		if p.PersistentFlags().Lookup("member") != nil {
			return true
		}
	}
	return false
}
