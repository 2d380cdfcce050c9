package cli

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/node"
)

// queryFlags are shared by the query subcommands.
type queryFlags struct {
	node   string
	output *output
}

func newQueryCommand() *cobra.Command {
	q := &queryFlags{output: &output{}}
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Read the ledger: claim status (with proofs), attestations, members, parameters, anchors",
		Long: `The query commands read the state of the chain through a node's RPC
(--node, default ` + client.DefaultNodeURL + `).

query status answers the question a relying party asks: does the holder of
this certificate have a valid attestation of this claim type now? With
--verify the answer is checked: a Merkle (ICS23) proof of the record
against the app hash of the next block's header, that header verified with
CometBFT's light client from the genesis validators (or a checkpoint).`,
	}
	cmd.PersistentFlags().StringVar(&q.node, "node", client.DefaultNodeURL, "node RPC URL")
	cmd.PersistentFlags().StringVarP(&q.output.format, "output", "o", "text", "output format: text or json")
	cmd.AddCommand(newQueryUpgradeCommand(q))
	cmd.AddCommand(newQueryStatusCommand(q), newQueryAttestationCommand(q), newQueryMembersCommand(q),
		newQueryParamsCommand(q), newQueryAnchorsCommand(q), newQueryProposalCommand(q), newQueryProposalsCommand(q),
		newQueryClaimTypesCommand(q))
	return cmd
}

type trustView struct {
	Source string `json:"source"`
	Height int64  `json:"height"`
	Hash   string `json:"hash"`
	Period string `json:"period"`
}

type revocationView struct {
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	Height int64     `json:"height"`
	Time   time.Time `json:"time"`
}

type entryView struct {
	ID         string          `json:"id"`
	Attester   string          `json:"attester"`
	ClaimHash  string          `json:"claim_hash"`
	NotAfter   time.Time       `json:"not_after"`
	Height     int64           `json:"height"`
	Revocation *revocationView `json:"revocation,omitempty"`
}

type statusView struct {
	State       string          `json:"state"`
	Subject     string          `json:"subject"`
	ClaimType   string          `json:"claim_type"`
	Height      int64           `json:"height"`
	Time        time.Time       `json:"time"`
	Verified    bool            `json:"verified"`
	AppHash     string          `json:"app_hash,omitempty"`
	Trust       *trustView      `json:"trust,omitempty"`
	Attestation *entryView      `json:"attestation,omitempty"`
	Revocation  *revocationView `json:"revocation,omitempty"`
	// ClaimTypeEntry is the type's registry entry, under the same proof.
	ClaimTypeEntry *claimTypeView `json:"claim_type_entry,omitempty"`
	// AttesterAllowed says whether the attestation's attester may attest
	// the type today (its attestation stands either way until not-after).
	AttesterAllowed *bool `json:"attester_allowed,omitempty"`
}

func unixUTC(s int64) time.Time { return time.Unix(s, 0).UTC() }

func revView(r *chainpb.Revocation) *revocationView {
	if r == nil {
		return nil
	}
	return &revocationView{Reason: r.Reason, By: r.By, Height: r.Height, Time: unixUTC(r.Time)}
}

// statusFlags are query status's flags beyond the query command's own.
type statusFlags struct {
	certFile, subjectHex, claimType string
	verify                          bool
	trust                           trustFlags
	trustPeriod                     time.Duration
	witnesses                       []string
}

func newQueryStatusCommand(q *queryFlags) *cobra.Command {
	var sf statusFlags
	cmd := &cobra.Command{
		Use:   "status (--cert FILE | --subject HEX) --claim-type T [--verify [--home H | --genesis F]]",
		Short: "Does this holder have a valid attestation of this claim type?",
		Long: `Status answers valid, revoked, expired or none for a subject (the identity
commitment of a certificate: --cert computes it, --subject gives it in hex)
and a claim type.

Without --verify it takes the node's word, at the node's latest block time.

With --verify it checks the answer and fails rather than answer unchecked:
the record comes with an ICS23 proof against the app hash in the header of
the next block; that header is verified with CometBFT's light client,
starting from the first block, whose commit must verify with the validators
of the genesis: the one in --home (HOME/config/genesis.json) or --genesis.
Without either, the genesis the node itself serves is used and a warning
says so. --trust-height and --trust-hash start instead from a block you
trust (a recent one: the light client refuses a checkpoint older than
--trust-period). The status is computed at the verified header's time.

Examples:

  idledger query status --cert ca/holders/holder1.crt --claim-type kyc
  idledger query status --cert ca/holders/holder1.crt --claim-type kyc --verify --home node -o json
  idledger query status --subject 6b1f...e0 --claim-type kyc --verify \
      --trust-height 120000 --trust-hash 3F6A...C1 --node http://10.0.0.5:26657`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFlags(cmd, q.output, "claim-type"); err != nil {
				return err
			}
			subject, err := subjectFrom(sf.certFile, sf.subjectHex)
			if err != nil {
				return err
			}
			c, err := statusClient(cmd, q, &sf)
			if err != nil {
				return err
			}
			st, err := c.ClaimStatus(cmd.Context(), subject, sf.claimType, sf.verify)
			if err != nil {
				return err
			}
			v := viewStatus(st)
			return q.output.print(cmd.OutOrStdout(), v, v.text)
		},
	}
	f := cmd.Flags()
	f.StringVar(&sf.certFile, "cert", "", "the holder's certificate (PEM or DER)")
	f.StringVar(&sf.subjectHex, "subject", "", "the holder's identity commitment, 64 hex digits")
	f.StringVar(&sf.claimType, "claim-type", "", "claim type (required)")
	f.BoolVar(&sf.verify, "verify", false, "check the answer with a Merkle proof and the light client")
	f.StringVar(&sf.trust.home, "home", defaultHome(), "with --verify: trust the genesis of this node home (also the default --node)")
	f.StringVar(&sf.trust.genesis, "genesis", "", "with --verify: trust this genesis file")
	f.Int64Var(&sf.trust.height, "trust-height", 0, "with --verify: start from this trusted block height")
	f.StringVar(&sf.trust.hash, "trust-hash", "", "with --verify: the trusted block's hash (hex)")
	f.DurationVar(&sf.trustPeriod, "trust-period", client.DefaultTrustPeriod, "with --verify: how long a trusted block stays a valid starting point")
	f.StringArrayVar(&sf.witnesses, "witness", nil, "with --verify: another node's RPC URL to cross-check headers with (repeatable)")
	return cmd
}

// statusClient checks how query status is to verify and returns the client
// for it: the node is --node, or the node of --home when only --home is
// given; with --verify the light client starts from --trust-*, --home's or
// --genesis's genesis, else (with a warning) the node's own genesis.
func statusClient(cmd *cobra.Command, q *queryFlags, sf *statusFlags) (*client.Client, error) {
	fl := cmd.Flags()
	homeSet, genesisSet := fl.Changed("home"), fl.Changed("genesis")
	if !sf.verify && (homeSet || genesisSet || trustSet(fl) || len(sf.witnesses) > 0) {
		return nil, usagef("--home, --genesis, --trust-* and --witness apply only with --verify")
	}
	if homeSet && genesisSet {
		return nil, usagef("give --home or --genesis, not both")
	}
	nodeURL := q.node
	if homeSet && !fl.Changed("node") {
		// The home's own node, where the user is most likely asking.
		if c, err := node.LoadConfig(sf.trust.home); err == nil {
			nodeURL = node.RPCURL(c)
		}
	}
	var opts []client.Option
	if sf.verify {
		if fl.Changed("trust-period") {
			opts = append(opts, client.WithTrustPeriod(sf.trustPeriod))
		}
		opts = append(opts, client.WithWitnesses(sf.witnesses...))
		root, err := sf.trust.root(fl)
		if err != nil {
			return nil, err
		}
		if root != nil {
			opts = append(opts, root)
		} else {
			fmt.Fprintln(cmd.ErrOrStderr(), "idledger: query status: warning: verifying from the genesis the node itself serves; "+
				"pass --home or --genesis to verify against a genesis you hold")
		}
	}
	return client.New(nodeURL, opts...)
}

// viewStatus is a status answer as query status prints it.
func viewStatus(st *client.Status) statusView {
	v := statusView{
		State:     string(st.State),
		Subject:   hex.EncodeToString(st.Subject),
		ClaimType: st.ClaimType,
		Height:    st.Height,
		Time:      st.Time.UTC(),
		Verified:  st.Verified,
	}
	if st.Verified {
		v.AppHash = fmt.Sprintf("%X", st.AppHash)
		v.Trust = &trustView{Source: st.Trust.Source, Height: st.Trust.Height, Hash: fmt.Sprintf("%X", st.Trust.Hash), Period: st.Trust.Period.String()}
	}
	v.Attestation = viewEntry(st.Entry)
	v.Revocation = revView(st.Revocation)
	v.ClaimTypeEntry = viewClaimType(st.ClaimTypeEntry)
	if st.Entry != nil {
		allowed := chain.AttesterAllowed(st.ClaimTypeEntry, st.Entry.Attester)
		v.AttesterAllowed = &allowed
	}
	return v
}

// viewEntry is a status record's entry (its attestation) as printed.
func viewEntry(e *chainpb.StatusEntry) *entryView {
	if e == nil {
		return nil
	}
	return &entryView{
		ID: hex.EncodeToString(e.AttestationId), Attester: e.Attester, ClaimHash: hex.EncodeToString(e.ClaimHash),
		NotAfter: unixUTC(e.NotAfter), Height: e.Height, Revocation: revView(e.Revocation),
	}
}

// printStatusHead prints the first lines of a status answer, the same
// from query status and verifier check.
func printStatusHead(w io.Writer, state, subject, claimType string, a *entryView, r *revocationView) {
	fmt.Fprintln(w, state)
	fmt.Fprintf(w, "  subject:     %s\n", subject)
	fmt.Fprintf(w, "  claim type:  %s\n", claimType)
	if a != nil {
		fmt.Fprintf(w, "  attestation: %s by %s at height %d, not after %s\n", a.ID, a.Attester, a.Height, a.NotAfter.Format(time.RFC3339))
	}
	if r != nil {
		fmt.Fprintf(w, "  revoked:     by %s at %s: %s\n", r.By, r.Time.Format(time.RFC3339), r.Reason)
	}
}

func (v statusView) text(w io.Writer) {
	printStatusHead(w, v.State, v.Subject, v.ClaimType, v.Attestation, v.Revocation)
	switch ct := v.ClaimTypeEntry; {
	case ct == nil:
		fmt.Fprintf(w, "  claim type:  not registered\n")
	case ct.Retired:
		fmt.Fprintf(w, "  registry:    retired at height %d; attesters %s, max validity %s\n", ct.RetiredHeight, strings.Join(ct.Attesters, ", "), ct.MaxValidity)
	default:
		fmt.Fprintf(w, "  registry:    attesters %s, max validity %s\n", strings.Join(ct.Attesters, ", "), ct.MaxValidity)
	}
	if v.AttesterAllowed != nil && !*v.AttesterAllowed {
		fmt.Fprintf(w, "  note:        the attester may no longer attest this type; its attestation stands until not-after\n")
	}
	fmt.Fprintf(w, "  state:       height %d, status computed at %s\n", v.Height, v.Time.Format(time.RFC3339))
	if v.Verified {
		fmt.Fprintf(w, "  proof:       verified against the app hash %s of block %d,\n", v.AppHash, v.Height+1)
		fmt.Fprintf(w, "               its header verified from the %s (block %d)\n", v.Trust.Source, v.Trust.Height)
	} else {
		fmt.Fprintf(w, "  proof:       not verified (the node's answer; add --verify)\n")
	}
}

// subjectFrom reads a subject commitment from a certificate file or hex.
func subjectFrom(certFile, subjectHex string) ([]byte, error) {
	switch {
	case certFile != "" && subjectHex != "":
		return nil, usagef("give --cert or --subject, not both")
	case subjectHex != "":
		s, err := chain.ParseSubject(subjectHex)
		if err != nil {
			return nil, usagef("--subject: %v", err)
		}
		return s, nil
	case certFile != "":
		b, err := os.ReadFile(certFile)
		if err != nil {
			return nil, err
		}
		if blk, _ := pem.Decode(b); blk != nil {
			if blk.Type != "CERTIFICATE" {
				return nil, fmt.Errorf("%s: PEM block is %q, not CERTIFICATE", certFile, blk.Type)
			}
			b = blk.Bytes
		}
		cert, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", certFile, err)
		}
		s := jpki.Commitment(cert.RawIssuer, cert.SerialNumber)
		return s[:], nil
	default:
		return nil, usagef("give --cert or --subject")
	}
}

type attestationView struct {
	ID         string          `json:"id"`
	Subject    string          `json:"subject"`
	ClaimType  string          `json:"claim_type"`
	ClaimHash  string          `json:"claim_hash"`
	NotAfter   time.Time       `json:"not_after"`
	Attester   string          `json:"attester"`
	Height     int64           `json:"height"`
	Time       time.Time       `json:"time"`
	Anchor     string          `json:"anchor"`
	Revocation *revocationView `json:"revocation,omitempty"`
}

func newQueryAttestationCommand(q *queryFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "attestation ID",
		Short: "Show an attestation by its ID",
		Long: `Attestation shows the attestation with the given ID (24 hex digits, as
idledger attest prints it): subject commitment, claim, attester, lapse time,
and revocation if any.

Example:

  idledger query attestation 000000000000000700000000`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := q.connect()
			if err != nil {
				return err
			}
			id, err := chain.ParseAttestationID(args[0])
			if err != nil {
				return usagef("%q: %v", args[0], err)
			}
			a, err := c.Attestation(cmd.Context(), id)
			if err != nil {
				return err
			}
			v := attestationView{
				ID: hex.EncodeToString(a.Id), Subject: hex.EncodeToString(a.Subject), ClaimType: a.ClaimType,
				ClaimHash: hex.EncodeToString(a.ClaimHash), NotAfter: unixUTC(a.NotAfter), Attester: a.Attester,
				Height: a.Height, Time: unixUTC(a.Time), Anchor: hex.EncodeToString(a.Anchor), Revocation: revView(a.Revocation),
			}
			return q.output.print(cmd.OutOrStdout(), v, func(w io.Writer) {
				fmt.Fprintf(w, "attestation %s\n", v.ID)
				fmt.Fprintf(w, "  subject:     %s\n", v.Subject)
				fmt.Fprintf(w, "  claim:       %s, hash %s\n", v.ClaimType, v.ClaimHash)
				fmt.Fprintf(w, "  attester:    %s\n", v.Attester)
				fmt.Fprintf(w, "  made:        height %d, %s\n", v.Height, v.Time.Format(time.RFC3339))
				fmt.Fprintf(w, "  not after:   %s\n", v.NotAfter.Format(time.RFC3339))
				fmt.Fprintf(w, "  anchor:      %s\n", v.Anchor)
				if r := v.Revocation; r != nil {
					fmt.Fprintf(w, "  revoked:     by %s at %s: %s\n", r.By, r.Time.Format(time.RFC3339), r.Reason)
				}
			})
		},
	}
}

type memberView struct {
	ID       string   `json:"id"`
	Name     string   `json:"name,omitempty"`
	Roles    []string `json:"roles"`
	PubKey   string   `json:"pub_key"`
	NodeIDs  []string `json:"node_ids,omitempty"`
	Sequence uint64   `json:"sequence"`
}

func newQueryMembersCommand(q *queryFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "members",
		Short: "List the member organisations",
		Long: `Members lists the member organisations in ID order: roles, ed25519 key
(hex), the node IDs they run, and the next sequence number their
transactions must use.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ms, err := fetch(cmd, q, (*client.Client).Members)
			if err != nil {
				return err
			}
			vs := make([]memberView, len(ms))
			for i, m := range ms {
				vs[i] = memberView{ID: m.Id, Name: m.Name, Roles: m.Roles, PubKey: hex.EncodeToString(m.PubKey), NodeIDs: m.NodeIds, Sequence: m.Sequence}
			}
			return q.output.print(cmd.OutOrStdout(), vs, func(w io.Writer) {
				for _, m := range vs {
					name := ""
					if m.Name != "" {
						name = " (" + m.Name + ")"
					}
					fmt.Fprintf(w, "%s%s\n", m.ID, name)
					fmt.Fprintf(w, "  roles:    %s\n", strings.Join(m.Roles, ", "))
					fmt.Fprintf(w, "  key:      %s\n", m.PubKey)
					if len(m.NodeIDs) > 0 {
						fmt.Fprintf(w, "  nodes:    %s\n", strings.Join(m.NodeIDs, ", "))
					}
					fmt.Fprintf(w, "  sequence: %d\n", m.Sequence)
				}
			})
		},
	}
}

func newQueryParamsCommand(q *queryFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "params",
		Short: "Show the chain parameters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := fetch(cmd, q, (*client.Client).Params)
			if err != nil {
				return err
			}
			v := genesis.ParamsOf(p) // as a genesis file holds them
			return q.output.print(cmd.OutOrStdout(), v, func(w io.Writer) {
				fmt.Fprintf(w, "max attestation lifetime:   %s\n", time.Duration(v.MaxAttestationLifetime))
				fmt.Fprintf(w, "allow signing certificates: %v\n", v.AllowSigningCertificates)
				fmt.Fprintf(w, "block retention:            %d blocks (0: keep all)\n", v.BlockRetention)
				fmt.Fprintf(w, "max attestations per claim: %d\n", v.MaxAttestationsPerClaim)
				fmt.Fprintf(w, "governor threshold:         %d\n", v.GovernorThreshold)
				fmt.Fprintf(w, "proposal TTL:               %d blocks\n", v.ProposalTTLBlocks)
				fmt.Fprintf(w, "max revocations per tx:     %d\n", v.MaxRevocationsPerTx)
			})
		},
	}
}

type anchorView struct {
	Kind     string    `json:"kind"`
	Subject  string    `json:"subject"`
	SHA256   string    `json:"sha256"`
	Known    string    `json:"known,omitempty"` // the J-LIS root's name, when it is one
	Test     bool      `json:"test"`
	NotAfter time.Time `json:"not_after"`
}

func newQueryAnchorsCommand(q *queryFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "anchors",
		Short: "List the trusted JPKI root CAs",
		Long: `Anchors lists the JPKI root CA certificates the chain trusts, with their
kind (auth: user authentication, sign: digital signature), SHA-256
fingerprint, and whether they are test CAs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			as, err := fetch(cmd, q, (*client.Client).Anchors)
			if err != nil {
				return err
			}
			vs := make([]anchorView, 0, len(as))
			for _, a := range as {
				vs = append(vs, anchorView{
					Kind: a.Kind.String(), Subject: a.Cert.Subject.String(), SHA256: hex.EncodeToString(a.ID[:]),
					Known: jpki.KnownAnchorName(a.ID), Test: a.Test, NotAfter: a.Cert.NotAfter.UTC(),
				})
			}
			return q.output.print(cmd.OutOrStdout(), vs, func(w io.Writer) {
				for _, v := range vs {
					test := ""
					if v.Test {
						test = " (TEST)"
					}
					fmt.Fprintf(w, "%s%s: %s\n", v.Kind, test, v.Subject)
					fmt.Fprintf(w, "  sha256:    %s\n", v.SHA256)
					fmt.Fprintf(w, "  not after: %s\n", v.NotAfter.Format(time.RFC3339))
				}
			})
		},
	}
}
