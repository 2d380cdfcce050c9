package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/internal/atomicfile"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/presentation"
	"github.com/idledger/idledger/verifier"
)

// newPresentCommand is "idledger present": the holder's side at a gate.
func newPresentCommand() *cobra.Command {
	var (
		signerSpec, challengeHex, audience, chainID, nodeURL, out string
	)
	cmd := &cobra.Command{
		Use:   "present --signer SPEC --challenge HEX --audience ID [--chain-id C] --out F",
		Short: "Prove possession of the card to a relying party (a gate)",
		Long: `Present signs, with the holder's JPKI key, the relying party's challenge
(16-64 random bytes, in hex), its name (--audience), the chain ID and the
current time, and writes the presentation to --out with the holder's
user-authentication certificate. The relying party checks it with
idledger verify-presentation.

The signature is over "idledger/presentation/v1", a zero byte and the
encoded fields: it can never be taken for a transaction.

The chain ID is --chain-id, else the one the node at --node serves.

Example:

  idledger present --signer soft:ca/holders/holder1.key,ca/holders/holder1.crt \
      --challenge 9f2c...e1 --audience gate-7 --chain-id demo --out p.bin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "signer", "challenge", "audience", "out"); err != nil {
				return err
			}
			challenge, err := hex.DecodeString(challengeHex)
			if err != nil || len(challenge) < presentation.MinChallenge || len(challenge) > presentation.MaxChallenge {
				return usagef("--challenge: want %d to %d bytes in hex", presentation.MinChallenge, presentation.MaxChallenge)
			}
			if !presentation.ValidAudience(audience) {
				return usagef("--audience: want 1-%d printable ASCII characters without spaces", presentation.MaxAudience)
			}
			if chainID == "" {
				c, err := client.New(nodeURL)
				if err != nil {
					return err
				}
				if chainID, err = c.ChainID(cmd.Context()); err != nil {
					return err
				}
			}
			s, closeSigner, err := openSigner(signerSpec)
			if err != nil {
				return err
			}
			defer closeSigner()
			raw, err := presentation.Make(cmd.Context(), s, presentation.Request{ChainID: chainID, Challenge: challenge, Audience: audience, Time: time.Now()})
			if err != nil {
				return err
			}
			if err := atomicfile.WriteFile(out, raw, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "presentation for %s on chain %s written to %s\n", audience, chainID, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&signerSpec, "signer", "", "the holder's JPKI key: soft:KEYFILE,CERTFILE or plugin:NAME (required)")
	f.StringVar(&challengeHex, "challenge", "", "the relying party's challenge, hex (required)")
	f.StringVar(&audience, "audience", "", "the relying party's name (required)")
	f.StringVar(&chainID, "chain-id", "", "the chain (default: the node's)")
	f.StringVar(&nodeURL, "node", client.DefaultNodeURL, "node RPC URL (for the chain ID)")
	f.StringVar(&out, "out", "", "file to write the presentation to (required)")
	return cmd
}

type presentationView struct {
	Accepted     bool      `json:"accepted"`
	Reason       string    `json:"reason,omitempty"`
	CertReason   string    `json:"certificate_reason,omitempty"`
	Detail       string    `json:"detail,omitempty"`
	Subject      string    `json:"subject,omitempty"`
	ClaimType    string    `json:"claim_type"`
	Audience     string    `json:"audience"`
	State        string    `json:"state,omitempty"`
	Height       int64     `json:"height,omitempty"`
	StatusTime   time.Time `json:"status_time,omitzero"`
	StatusSource string    `json:"status_source,omitempty"`
	// The freshness of what the answer rests on, yes or no (with
	// --verifier-dir always, with --node on yes).
	VerifiedThrough int64     `json:"verified_through,omitempty"`
	HeaderTime      time.Time `json:"header_time,omitzero"`
	Age             string    `json:"age,omitempty"`
	AgeSeconds      int64     `json:"age_seconds,omitempty"`
	MaxStaleness    string    `json:"max_staleness,omitempty"`
}

func (v *presentationView) setFreshness(through int64, header time.Time, age time.Duration) {
	v.VerifiedThrough, v.HeaderTime = through, header.UTC()
	v.Age, v.AgeSeconds = age.Round(time.Second).String(), int64(age.Seconds())
}

// nodeStatus is a presentation.StatusSource over a node, every answer
// proven (client.ClaimStatus with verify).
type nodeStatus struct{ c *client.Client }

func (n nodeStatus) ClaimStatus(ctx context.Context, subject []byte, claimType string) (*presentation.KnownStatus, error) {
	st, err := n.c.ClaimStatus(ctx, subject, claimType, true)
	if err != nil {
		return nil, err
	}
	return &presentation.KnownStatus{Record: st.Record, Height: st.Height, Time: st.Time, Source: "node " + n.c.URL()}, nil
}

// newVerifyPresentationCommand is "idledger verify-presentation": the
// relying party's side.
func newVerifyPresentationCommand() *cobra.Command {
	var (
		file, claimType, nodeURL, dir, audience, challengeHex, challengeDB string
		trustHeight                                                        int64
		trustHash                                                          string
		maxAge, maxStatusAge, maxStaleness                                 time.Duration
		output                                                             *output
	)
	cmd := &cobra.Command{
		Use:   "verify-presentation --presentation F --claim-type T (--node URL | --verifier-dir D) [--audience ID] [--max-staleness D] [-o json]",
		Short: "Check a holder's presentation: yes or no, with the reason",
		Long: `Verify-presentation checks a presentation made with idledger present:
the chain ID, the audience (--audience: this relying party's name), the
challenge (--challenge: the one issued, when given), the time (not older
than --max-age, at most 30s ahead), the certificate chain to the chain's
trust anchors, the signature, single use of the challenge (remembered in
--challenge-db), and the holder's attestation status of --claim-type.

The status and trust anchors come with proofs from a node (--node: a
Merkle proof against a light-client-verified header), or from a verifier's
store without a network (--verifier-dir: see idledger verifier run;
--max-status-age refuses a store that stopped hearing from the chain).

--max-staleness D makes the answer "no: status_unknown", never yes, when
what the status rests on is older than D: the longest a revocation may stay
unknown to this gate (see docs/verifier.md on choosing it). Every answer
says through which block the status is known, that header's time and age.

It prints yes or no with the reason; "no" exits with status 1. Reasons:
malformed, wrong_chain, wrong_audience, wrong_challenge, stale, future,
certificate_invalid, bad_signature, replayed_challenge, no_attestation,
attestation_expired, attestation_revoked, status_unknown, status_stale.

Example:

  idledger verify-presentation --presentation p.bin --claim-type kyc \
      --audience gate-7 --verifier-dir gate-store -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFlags(cmd, output, "presentation", "claim-type"); err != nil {
				return err
			}
			nodeSet := cmd.Flags().Changed("node")
			if nodeSet == (dir != "") {
				return usagef("give --node or --verifier-dir, one of them")
			}
			if !chain.ValidClaimType(claimType) {
				return usagef("--claim-type %q: want 1-%d characters of a-z 0-9 . _ -", claimType, chain.MaxClaimTypeLen)
			}
			var challenge []byte
			if challengeHex != "" {
				c, err := hex.DecodeString(challengeHex)
				if err != nil {
					return usagef("--challenge: not hex")
				}
				challenge = c
			}
			raw, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			opts := presentation.VerifyOptions{
				Now: time.Now(), MaxAge: maxAge, Audience: audience, Challenge: challenge, ClaimType: claimType, MaxStatusAge: maxStatusAge,
				MaxStaleness: maxStaleness,
			}
			var storeHead *verifier.LightState
			if dir != "" {
				storeHead, err = storeVerifyOptions(&opts, dir, &challengeDB)
			} else {
				err = nodeVerifyOptions(cmd, &opts, nodeURL, trustHeight, trustHash, &challengeDB)
			}
			if err != nil {
				return err
			}
			opts.Challenges = presentation.FileChallenges{Path: challengeDB}
			v, pe, err := verifyPresentation(cmd, raw, opts, storeHead)
			if err != nil {
				return err // no answer at all
			}
			if err := output.print(cmd.OutOrStdout(), v, v.text); err != nil {
				return err
			}
			if pe != nil {
				return fmt.Errorf("presentation refused: %s", pe.Reason)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "presentation", "", "the presentation file (required)")
	f.StringVar(&claimType, "claim-type", "", "the claim the holder must have (required)")
	f.StringVar(&nodeURL, "node", client.DefaultNodeURL, "check the status with proofs from this node")
	f.StringVar(&dir, "verifier-dir", "", "check the status offline from this verifier store")
	f.StringVar(&audience, "audience", "", "this relying party's name, which the presentation must name")
	f.StringVar(&challengeHex, "challenge", "", "the challenge issued, hex (checked when given)")
	f.StringVar(&challengeDB, "challenge-db", "", "file of used challenges (default: DIR/challenges, or $IDLEDGER_HOME/presentation-challenges)")
	f.DurationVar(&maxAge, "max-age", presentation.DefaultMaxAge, "how old a presentation may be")
	f.DurationVar(&maxStatusAge, "max-status-age", 0, "with --verifier-dir: refuse a store whose last block is older (0: no limit)")
	f.DurationVar(&maxStaleness, "max-staleness", 0, "answer status_unknown, never yes, when the status is proven by a header older than this (0: no limit)")
	f.Int64Var(&trustHeight, "trust-height", 0, "with --node: start the light client from this trusted block height")
	f.StringVar(&trustHash, "trust-hash", "", "with --node: the trusted block's hash (hex)")
	output = addOutputFlag(cmd)
	return cmd
}

// storeVerifyOptions fills in what verify-presentation takes from a
// verifier store (--verifier-dir): the chain ID, the anchors and the status
// source, and the default challenge file beside the store. It returns the
// store's head, whose age every answer shows.
func storeVerifyOptions(opts *presentation.VerifyOptions, dir string, challengeDB *string) (*verifier.LightState, error) {
	s, err := verifier.ReadStore(dir)
	if err != nil {
		return nil, err
	}
	head, ls, err := s.Head()
	if err != nil {
		return nil, err
	}
	if opts.Anchors, err = s.Anchors(); err != nil {
		return nil, err
	}
	opts.ChainID, opts.Status = head.ChainId, verifier.StatusSource{Store: s}
	if *challengeDB == "" {
		*challengeDB = filepath.Join(dir, "challenges")
	}
	return ls, nil
}

// nodeVerifyOptions fills in what verify-presentation takes from a node
// (--node), with proofs: the chain ID, the proven anchors and the status
// source, and the default challenge file in the idledger home.
func nodeVerifyOptions(cmd *cobra.Command, opts *presentation.VerifyOptions, nodeURL string, trustHeight int64, trustHash string, challengeDB *string) error {
	var copts []client.Option
	if trustSet(cmd.Flags()) {
		o, err := trustedHeader(trustHeight, trustHash)
		if err != nil {
			return err
		}
		copts = append(copts, o)
	} else {
		fmt.Fprintln(cmd.ErrOrStderr(), "idledger: verify-presentation: warning: verifying from the genesis the node itself serves; "+
			"pass --trust-height and --trust-hash to verify from a block you trust")
	}
	c, err := client.New(nodeURL, copts...)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if opts.ChainID, err = c.ChainID(ctx); err != nil {
		return err
	}
	if opts.Anchors, err = provenAnchors(ctx, c); err != nil {
		return err
	}
	opts.Status = nodeStatus{c}
	if *challengeDB == "" {
		*challengeDB = filepath.Join(defaultHome(), "presentation-challenges")
	}
	return nil
}

// verifyPresentation decodes and checks raw and returns the answer: yes, or
// no with the refusal pe. An error is no answer at all.
func verifyPresentation(cmd *cobra.Command, raw []byte, opts presentation.VerifyOptions, storeHead *verifier.LightState) (presentationView, *presentation.Error, error) {
	v := presentationView{ClaimType: opts.ClaimType}
	if opts.MaxStaleness > 0 {
		v.MaxStaleness = opts.MaxStaleness.String()
	}
	if storeHead != nil {
		v.setFreshness(storeHead.Height()-1, storeHead.Header.Time, opts.Now.Sub(storeHead.Header.Time))
	}
	p, err := presentation.Decode(raw)
	if err == nil {
		v.Audience = p.Audience
		if opts.Audience == "" {
			opts.Audience = p.Audience
			fmt.Fprintln(cmd.ErrOrStderr(), "idledger: verify-presentation: warning: no --audience: the presentation's own audience is not checked")
		}
		var res *presentation.Result
		res, err = presentation.Verify(cmd.Context(), p, opts)
		if err == nil {
			v.Accepted, v.Subject, v.State = true, hex.EncodeToString(res.Subject), string(res.Status.State)
			v.Height, v.StatusTime, v.StatusSource = res.Height, res.StatusTime.UTC(), res.StatusSource
			v.setFreshness(res.Height, res.StatusTime, res.StatusAge)
			return v, nil, nil
		}
	}
	var pe *presentation.Error
	if !errors.As(err, &pe) {
		return v, nil, err
	}
	v.Reason, v.Detail = string(pe.Reason), pe.Detail
	if pe.JPKI != 0 {
		v.CertReason = pe.JPKI.String()
	}
	return v, pe, nil
}

func (v presentationView) text(w io.Writer) {
	if v.Accepted {
		fmt.Fprintf(w, "yes: subject %s holds a valid %s attestation\n", v.Subject, v.ClaimType)
		fmt.Fprintf(w, "  status: height %d, proven at %s (%s old) by %s\n", v.Height, v.StatusTime.Format(time.RFC3339), v.Age, v.StatusSource)
		return
	}
	fmt.Fprintf(w, "no: %s\n", v.Reason)
	fmt.Fprintf(w, "  %s\n", v.Detail)
	if v.VerifiedThrough > 0 {
		fmt.Fprintf(w, "  known through block %d (%s, %s old)\n", v.VerifiedThrough, v.HeaderTime.Format(time.RFC3339), v.Age)
	}
}

// provenAnchors reads the trust anchor set with a proof.
func provenAnchors(ctx context.Context, c *client.Client) ([]*jpki.Anchor, error) {
	p, err := c.VerifiedGet(ctx, chain.AnchorsKey())
	if err != nil {
		return nil, err
	}
	return chain.DecodeAnchorSet(p.Value)
}
