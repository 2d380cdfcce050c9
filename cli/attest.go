package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/memberkey"
	"github.com/idledger/idledger/privacy"
)

type attestResult struct {
	ID        string    `json:"id"`
	Height    int64     `json:"height"`
	TxHash    string    `json:"tx_hash"`
	Subject   string    `json:"subject"`
	ClaimType string    `json:"claim_type"`
	NotAfter  time.Time `json:"not_after"`
	Attester  string    `json:"attester"`
	Sequence  uint64    `json:"sequence"`
}

func newAttestCommand() *cobra.Command {
	var (
		nodeURL, signerSpec, memberKeyFile, memberID string
		claimType, claimFile, claimHash, notAfter    string
		notMyNumber                                  bool
		chainID                                      string
		timeout                                      time.Duration
		offline                                      offlineFlags
		output                                       *output
	)
	cmd := &cobra.Command{
		Use:   "attest --signer SPEC --member-key FILE --claim-type T (--claim-file F | --claim-hash HEX) [flags]",
		Short: "Attest a claim about a card holder",
		Long: `Attest records that the holder of a JPKI user-authentication certificate has
a claim. The holder signs with the card key (--signer) and the attesting
member with its member key (--member-key); the chain checks both signatures,
the certificate chain to a trust anchor, and the attester's role and
sequence number. It prints the attestation ID and the block height once the
transaction is committed.

Before the holder's signer is opened (a card or phone may ask for its PIN
at once), attest asks the node what it can check without the holder: the
chain ID (--chain-id must be the node's), the attesting member, and the
claim-type registry: --claim-type must be registered and not retired, the
member one of its attesters, and --not-after within its maximum validity
(idledger query claim-types). A refusal there prints the code the chain
would give, and the holder is asked for nothing.

The claim itself stays off the ledger: only its SHA-256 is recorded, from
--claim-file (hashed) or --claim-hash (64 hex digits). A claim file that
holds what looks like a My Number (12 digits with a valid check digit) is
refused: a hash of a My Number is still a My Number on the ledger. About one
12-digit number in eleven passes the check digit by chance; if yours is a
ticket or account number, say so with --not-my-number.

Signers:

  soft:KEYFILE,CERTFILE   a PEM key and certificate (test holders: idledger ca issue)
  plugin:NAME             the plugin idledger-signer-NAME (cards, phones)

The attestation lapses at --not-after (RFC 3339), by default 30 days from
now or the certificate's expiry if sooner. A refusal prints the chain's
reason and code, for example:

  idledger: attest: jpki: certificate expired at 2026-01-01T00:00:00Z (code 22)

Offline: with --generate-only the transaction is built and signed on this
machine, which needs no network, and its bytes are written to stdout; the
chain ID, the attesting member and its next sequence number then come from
--chain-id, --member and --sequence (idledger query members shows it).
With no node to ask, the claim-type registry and the chain ID are checked
only when the file is broadcast: check the type with idledger query
claim-types first. idledger broadcast FILE sends it from a machine that
reaches a node.

Example:

  idledger attest --signer soft:ca/holders/holder1.key,ca/holders/holder1.crt \
      --member-key node/config/member_key.pem --claim-type kyc --claim-file claim.txt
  idledger attest --generate-only --chain-id demo --member operator --sequence 3 \
      --signer plugin:gpse --member-key member_key.pem --claim-type kyc --claim-file claim.txt > tx.bin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFlags(cmd, output, "signer", "member-key", "claim-type"); err != nil {
				return err
			}
			req, err := attestRequest(cmd, claimType, claimFile, claimHash, notAfter, notMyNumber)
			if err != nil {
				return err
			}
			req.MemberID, req.ChainID = memberID, chainID
			if req.MemberKey, err = memberkey.Read(memberKeyFile); err != nil {
				return err
			}
			c, err := offline.newClient(cmd, nodeURL, chainID, memberID, true)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if !c.Generating() {
				// Before the signer is opened: see cli/precheck.go.
				req.ChainID, err = precheckAttest(ctx, c, attestCheck{
					chainID: chainID, memberID: memberID, memberKey: req.MemberKey, claimType: claimType, notAfter: req.NotAfter,
				})
				if err != nil {
					return err
				}
			}
			s, closeSigner, err := openSigner(signerSpec)
			if err != nil {
				return err
			}
			defer closeSigner()
			req.Signer = s
			r, err := c.Attest(ctx, req)
			if err != nil {
				return err
			}
			res := viewAttestResult(r)
			return output.print(cmd.OutOrStdout(), res, res.text)
		},
	}
	f := cmd.Flags()
	f.StringVar(&nodeURL, "node", client.DefaultNodeURL, "node RPC URL")
	f.StringVar(&signerSpec, "signer", "", "the holder's JPKI key: soft:KEYFILE,CERTFILE or plugin:NAME (required)")
	f.StringVar(&memberKeyFile, "member-key", "", "the attesting member's key file, PEM (required)")
	f.StringVar(&memberID, "member", "", "the attesting member's ID (default: the member registered with --member-key's key)")
	f.StringVar(&claimType, "claim-type", "", "claim type, 1-64 of a-z 0-9 . _ - (required)")
	f.StringVar(&claimFile, "claim-file", "", "file whose SHA-256 is the claim hash")
	f.StringVar(&claimHash, "claim-hash", "", "the claim hash, 64 hex digits")
	f.BoolVar(&notMyNumber, "not-my-number", false, "the claim file's 12-digit number is not a My Number (see above)")
	f.StringVar(&notAfter, "not-after", "", "when the attestation lapses, RFC 3339 (default: 30 days, at most the certificate's expiry)")
	f.StringVar(&chainID, "chain-id", "", "sign for this chain ID (default: the node's; with a node, it must be the node's)")
	f.DurationVar(&timeout, "timeout", time.Minute, "how long to wait for the commit")
	offline.add(f)
	output = addOutputFlag(cmd)
	return cmd
}

// attestRequest checks attest's claim flags, which need neither the node
// nor the holder, and returns the request they make.
func attestRequest(cmd *cobra.Command, claimType, claimFile, claimHash, notAfter string, notMyNumber bool) (client.AttestRequest, error) {
	req := client.AttestRequest{ClaimType: claimType}
	if !chain.ValidClaimType(claimType) {
		return req, usagef("--claim-type %q: want 1-%d characters of a-z 0-9 . _ -", claimType, chain.MaxClaimTypeLen)
	}
	var err error
	if req.ClaimHash, err = claimHashFrom(cmd, claimFile, claimHash, notMyNumber); err != nil {
		return req, err
	}
	if notAfter != "" {
		if req.NotAfter, err = time.Parse(time.RFC3339, notAfter); err != nil {
			return req, usagef("--not-after %q: want an RFC 3339 time such as 2026-12-31T23:59:59+09:00", notAfter)
		}
		if !req.NotAfter.After(time.Now()) {
			return req, usagef("--not-after %s is not in the future", notAfter)
		}
	}
	return req, nil
}

func viewAttestResult(r *client.AttestResult) attestResult {
	return attestResult{
		ID:        hex.EncodeToString(r.ID),
		Height:    r.Height,
		TxHash:    fmt.Sprintf("%X", r.TxHash),
		Subject:   hex.EncodeToString(r.Subject),
		ClaimType: r.ClaimType,
		NotAfter:  r.NotAfter,
		Attester:  r.Attester,
		Sequence:  r.Sequence,
	}
}

func (res attestResult) text(w io.Writer) {
	fmt.Fprintf(w, "attestation %s committed at height %d\n", res.ID, res.Height)
	fmt.Fprintf(w, "  subject:    %s\n", res.Subject)
	fmt.Fprintf(w, "  claim type: %s\n", res.ClaimType)
	fmt.Fprintf(w, "  attester:   %s (sequence %d)\n", res.Attester, res.Sequence)
	fmt.Fprintf(w, "  not after:  %s\n", res.NotAfter.Format(time.RFC3339))
	fmt.Fprintf(w, "  tx:         %s\n", res.TxHash)
}

func claimHashFrom(cmd *cobra.Command, file, hexHash string, notMyNumber bool) ([]byte, error) {
	switch {
	case file != "" && hexHash != "":
		return nil, usagef("give --claim-file or --claim-hash, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		if d, found := privacy.FindMyNumber(b); found && !notMyNumber {
			return nil, fmt.Errorf("%s holds what looks like a My Number (%s): idledger never records one, not even hashed; "+
				"take it out of the claim, or pass --not-my-number if it is another 12-digit number", file, privacy.Mask(d))
		}
		h := sha256.Sum256(b)
		return h[:], nil
	case hexHash != "":
		b, err := hex.DecodeString(hexHash)
		if err != nil || len(b) != sha256.Size {
			return nil, usagef("--claim-hash: want 64 hex digits (a SHA-256)")
		}
		return b, nil
	default:
		return nil, usagef("give --claim-file or --claim-hash")
	}
}
