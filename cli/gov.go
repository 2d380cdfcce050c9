package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/memberkey"
)

// govFlags are shared by the gov subcommands.
type govFlags struct {
	memberFlags
	output *output
}

func newGovCommand() *cobra.Command {
	g := &govFlags{output: &output{}}
	cmd := &cobra.Command{
		Use:   "gov",
		Short: "Propose and vote on changes to members, validators, trust anchors and parameters",
		Long: `The gov commands change what the chain itself governs: its members and
their roles, its validators' voting power, the JPKI trust anchors and the
parameters. A governor proposes an action (its own vote counts); other
governors vote for it; it executes in the block where the yes votes reach
the governor threshold (query params), or expires after proposal_ttl_blocks.
An action that no longer fits the state when it executes (the member exists
already, the threshold would become unreachable) fails and changes nothing.

Each command is signed with a governor's member key (--member-key) and
prints the proposal's ID and status once committed; query proposal ID
shows it later. With --generate-only (and --chain-id, --member, --sequence)
the signed transaction is written to stdout instead, for idledger
broadcast; set-params then cannot read the current parameters and fails.`,
	}
	g.add(cmd, true, "the governor")
	cmd.PersistentFlags().StringVarP(&g.output.format, "output", "o", "text", "output format: text or json")
	cmd.AddCommand(newGovProposeCommand(g), newGovVoteCommand(g))
	return cmd
}

type proposalView struct {
	ID            uint64   `json:"id"`
	Action        string   `json:"action"`
	Detail        string   `json:"detail"`
	Status        string   `json:"status"`
	Result        string   `json:"result,omitempty"`
	Proposer      string   `json:"proposer"`
	Votes         []string `json:"votes"`
	Threshold     uint32   `json:"threshold,omitempty"`
	Height        int64    `json:"height"`
	ExpiresHeight int64    `json:"expires_height"`
}

type govTxView struct {
	proposalView
	TxHeight int64  `json:"tx_height"`
	TxHash   string `json:"tx_hash"`
	Signer   string `json:"signer"`
	Sequence uint64 `json:"sequence"`
}

func viewProposal(p *chainpb.Proposal, threshold uint32) proposalView {
	name, detail := describeAction(p.Action)
	return proposalView{
		ID: p.Id, Action: name, Detail: detail, Status: p.Status, Result: p.Result, Proposer: p.Proposer,
		Votes: p.Votes, Threshold: threshold, Height: p.Height, ExpiresHeight: p.ExpiresHeight,
	}
}

func (v proposalView) text(w io.Writer) {
	fmt.Fprintf(w, "proposal %d: %s\n", v.ID, v.Status)
	fmt.Fprintf(w, "  action:   %s %s\n", v.Action, v.Detail)
	if v.Threshold > 0 {
		fmt.Fprintf(w, "  votes:    %d of %d needed (%s)\n", len(v.Votes), v.Threshold, strings.Join(v.Votes, ", "))
	} else {
		fmt.Fprintf(w, "  votes:    %d (%s)\n", len(v.Votes), strings.Join(v.Votes, ", "))
	}
	fmt.Fprintf(w, "  proposed: by %s at height %d", v.Proposer, v.Height)
	if v.Status == chain.ProposalOpen {
		fmt.Fprintf(w, ", expires at height %d", v.ExpiresHeight)
	}
	fmt.Fprintln(w)
	if v.Result != "" {
		fmt.Fprintf(w, "  result:   %s\n", v.Result)
	}
}

// describeAction names an action and says what it does in one line.
func describeAction(a *chainpb.GovAction) (string, string) {
	if n, d, ok := describeClaimTypeAction(a); ok {
		return n, d
	}
	switch act := a.GetAction().(type) {
	case *chainpb.GovAction_AddMember:
		m := act.AddMember
		d := fmt.Sprintf("%s roles=%s key=%s", m.Id, strings.Join(m.Roles, ","), base64.StdEncoding.EncodeToString(m.PubKey))
		if len(m.NodeIds) > 0 {
			d += " nodes=" + strings.Join(m.NodeIds, ",")
		}
		return "add-member", d
	case *chainpb.GovAction_RemoveMember:
		return "remove-member", act.RemoveMember
	case *chainpb.GovAction_SetRoles:
		return "set-roles", act.SetRoles.Member + " roles=" + strings.Join(act.SetRoles.Roles, ",")
	case *chainpb.GovAction_SetValidatorPower:
		v := act.SetValidatorPower
		return "set-validator-power", fmt.Sprintf("%s key=%s power=%d", v.Member, base64.StdEncoding.EncodeToString(v.PubKey), v.Power)
	case *chainpb.GovAction_AddAnchor:
		id := sha256.Sum256(act.AddAnchor.Certificate)
		d := fmt.Sprintf("%s %s", act.AddAnchor.Kind, hex.EncodeToString(id[:]))
		if c, err := x509.ParseCertificate(act.AddAnchor.Certificate); err == nil {
			d += " (" + c.Subject.String() + ")"
		}
		return "add-anchor", d
	case *chainpb.GovAction_RemoveAnchor:
		return "remove-anchor", hex.EncodeToString(act.RemoveAnchor)
	case *chainpb.GovAction_SetParams:
		p := act.SetParams
		return "set-params", fmt.Sprintf("max_attestation_lifetime=%s allow_signing_certificates=%v block_retention=%d "+
			"max_attestations_per_claim=%d governor_threshold=%d proposal_ttl_blocks=%d max_revocations_per_tx=%d",
			time.Duration(p.MaxAttestationLifetime)*time.Second, p.AllowSigningCertificates, p.BlockRetention,
			p.MaxAttestationsPerClaim, p.GovernorThreshold, p.ProposalTtlBlocks, p.MaxRevocationsPerTx)
	case *chainpb.GovAction_Upgrade:
		return "upgrade", fmt.Sprintf("%s at height %d", act.Upgrade.Name, act.Upgrade.Height)
	}
	return "none", ""
}

// printGovTx prints a committed proposal or vote.
func printGovTx(cmd *cobra.Command, g *govFlags, verb string, r *client.ProposalResult) error {
	v := govTxView{
		proposalView: viewProposal(r.Proposal, r.Threshold),
		TxHeight:     r.Height, TxHash: fmt.Sprintf("%X", r.Hash), Signer: r.Member, Sequence: r.Sequence,
	}
	return g.output.print(cmd.OutOrStdout(), v, func(w io.Writer) {
		fmt.Fprintf(w, "%s by %s committed at height %d (tx %s)\n", verb, v.Signer, v.TxHeight, v.TxHash)
		v.proposalView.text(w)
	})
}

func newGovProposeCommand(g *govFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "propose ACTION [flags]",
		Short: "Propose a governance action",
		Long: `Propose submits a proposal, signed by a governor, whose own vote counts
as the first yes. With a threshold of 1 it executes in the same block.

Actions:

  add-member           a new member organisation: ID, ed25519 key, roles,
                       node IDs (validators' nodes may peer)
  remove-member ID     its transactions are refused from the next block;
                       its validators lose their power
  set-roles ID         replace a member's roles
  set-validator-power  a consensus key's voting power (0 removes it)
  upgrade              halt every node at a height for a software upgrade
  add-anchor           trust a JPKI root CA certificate
  remove-anchor ID     stop trusting one (new attestations under it fail;
                       existing ones keep their status)
  set-params           change chain parameters (the others stay as they are)
  register-claim-type  register or change a claim type: meaning, attesters,
                       max validity (docs/claim-types.md)
  retire-claim-type    no new attestation of a type (live ones stay valid)

Examples:

  idledger gov propose add-member --id bank-a --pub-key-file bank-a.pub.pem \
      --roles attester,revoker --member-key gov_key.pem
  idledger gov propose set-validator-power --member bank-a \
      --pub-key 5mXg...= --power 10 --member-key gov_key.pem
  idledger gov propose set-params --max-attestation-lifetime 8760h --member-key gov_key.pem`,
	}
	cmd.AddCommand(
		newProposeUpgradeCommand(g),
		newProposeAddMemberCommand(g), newProposeRemoveMemberCommand(g), newProposeSetRolesCommand(g),
		newProposeSetValidatorPowerCommand(g), newProposeAddAnchorCommand(g), newProposeRemoveAnchorCommand(g),
		newProposeSetParamsCommand(g),
		newProposeRegisterClaimTypeCommand(g), newProposeRetireClaimTypeCommand(g),
	)
	return cmd
}

// connect checks -o, reads the governor's member key and returns the
// client to submit through: the first steps of gov propose and gov vote.
func (g *govFlags) connect(cmd *cobra.Command) (*client.MemberAuth, *client.Client, error) {
	if err := g.output.check(); err != nil {
		return nil, nil, err
	}
	auth, err := g.auth()
	if err != nil {
		return nil, nil, err
	}
	c, err := g.client(cmd, true)
	if err != nil {
		return nil, nil, err
	}
	return auth, c, nil
}

// propose submits action, made by build once the flags are checked.
func propose(cmd *cobra.Command, g *govFlags, build func(ctx context.Context, c *client.Client) (*chainpb.GovAction, error)) error {
	auth, c, err := g.connect(cmd)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), g.timeout)
	defer cancel()
	action, err := build(ctx, c)
	if err != nil {
		return err
	}
	if err := chain.CheckAction(action); err != nil {
		return usageError{err}
	}
	r, err := c.Propose(ctx, *auth, action)
	if err != nil {
		return err
	}
	return printGovTx(cmd, g, "proposal", r)
}

func static(a *chainpb.GovAction) func(context.Context, *client.Client) (*chainpb.GovAction, error) {
	return func(context.Context, *client.Client) (*chainpb.GovAction, error) { return a, nil }
}

func splitList(s string) []string {
	var out []string
	for _, r := range strings.Split(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// parseEd25519Pub reads a 32-byte ed25519 public key in base64 (standard,
// as CometBFT's key files write it) or hex.
func parseEd25519Pub(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == ed25519.PublicKeySize {
		return b, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("want a 32-byte ed25519 key in base64 or 64 hex digits")
	}
	return b, nil
}

// readMemberPub reads a member's public key from a file: PEM PUBLIC KEY
// (PKIX), the member's PEM PRIVATE KEY (its public half is used), or the key
// as base64 or hex text.
func readMemberPub(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		k, err := parseEd25519Pub(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %v, or a PEM PUBLIC KEY", path, err)
		}
		return k, nil
	}
	switch blk.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%s: a %T, want an ed25519 key", path, k)
		}
		return pub, nil
	case "PRIVATE KEY":
		k, err := memberkey.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return k.Public().(ed25519.PublicKey), nil
	default:
		return nil, fmt.Errorf("%s: PEM block is %q, want PUBLIC KEY", path, blk.Type)
	}
}

func newProposeAddMemberCommand(g *govFlags) *cobra.Command {
	var (
		id, name, pubKey, pubKeyFile, roles string
		nodeIDs                             []string
		fromRequest                         string
	)
	cmd := &cobra.Command{
		Use:   "add-member (--from-request NAME.json | --id ID (--pub-key KEY | --pub-key-file FILE) --roles R,... [--node-id ID...])",
		Short: "Propose a new member organisation",
		Long: `Add-member proposes a new member: its ID (1-32 of a-z 0-9 -), its ed25519
key (--pub-key in base64 or hex, or --pub-key-file: a PEM PUBLIC KEY, or the
member's own member_key.pem, of which only the public half is used), its
roles (governor, attester, revoker, validator) and the CometBFT node IDs it
runs (40 hex digits; idledger init prints them). Every member's registered
nodes may peer with the network: validators, and full nodes.

Example:

  idledger gov propose add-member --id bank-a --pub-key-file bank-a.pub.pem \
      --roles attester,revoker --member-key gov_key.pem

With --from-request the member comes from its organisation's join request
(idledger genesis join-request): its ID, name, key, roles, node ID and p2p
address, after the request's signature is checked.

  idledger gov propose add-member --from-request bank-b.json --member-key gov_key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fromRequest != "" {
				build, err := addMemberFromRequest(cmd, fromRequest)
				if err != nil {
					return err
				}
				return propose(cmd, g, build)
			}
			if err := requireFlags(cmd, "id", "roles"); err != nil {
				return err
			}
			if (pubKey == "") == (pubKeyFile == "") {
				return usagef("give --pub-key or --pub-key-file")
			}
			var pub []byte
			var err error
			if pubKey != "" {
				if pub, err = parseEd25519Pub(pubKey); err != nil {
					return usagef("--pub-key: %v", err)
				}
			} else if pub, err = readMemberPub(pubKeyFile); err != nil {
				return err
			}
			ids := make([]string, len(nodeIDs))
			for i, n := range nodeIDs {
				ids[i] = strings.ToLower(n)
			}
			return propose(cmd, g, static(&chainpb.GovAction{Action: &chainpb.GovAction_AddMember{AddMember: &chainpb.Member{
				Id: id, Name: name, PubKey: pub, Roles: splitList(roles), NodeIds: ids,
			}}}))
		},
	}
	f := cmd.Flags()
	f.StringVar(&id, "id", "", "the new member's ID (required)")
	f.StringVar(&name, "name", "", "its display name")
	f.StringVar(&pubKey, "pub-key", "", "its ed25519 key, base64 or hex")
	f.StringVar(&pubKeyFile, "pub-key-file", "", "a file with its key: PEM PUBLIC KEY, its member_key.pem, or base64/hex")
	f.StringVar(&roles, "roles", "", "comma-separated roles: governor, attester, revoker, validator (required)")
	f.StringArrayVar(&nodeIDs, "node-id", nil, "a CometBFT node ID it runs (repeatable)")
	f.StringVar(&fromRequest, "from-request", "", "take the member from this join request file (idledger genesis join-request)")
	return cmd
}

func newProposeRemoveMemberCommand(g *govFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "remove-member ID",
		Short: "Propose removing a member",
		Long: `Remove-member proposes removing a member. Once executed its transactions are
refused (unknown signer, code 5), its node IDs may no longer peer, and its
validators' power drops to 0. Its attestations keep their recorded status.

Example:

  idledger gov propose remove-member bank-a --member-key gov_key.pem`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return propose(cmd, g, static(&chainpb.GovAction{Action: &chainpb.GovAction_RemoveMember{RemoveMember: args[0]}}))
		},
	}
}

func newProposeSetRolesCommand(g *govFlags) *cobra.Command {
	var roles string
	cmd := &cobra.Command{
		Use:   "set-roles ID --roles R,...",
		Short: "Propose replacing a member's roles",
		Long: `Set-roles proposes replacing a member's roles with --roles (governor,
attester, revoker, validator).

Example:

  idledger gov propose set-roles bank-a --roles attester --member-key gov_key.pem`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd, "roles"); err != nil {
				return err
			}
			return propose(cmd, g, static(&chainpb.GovAction{Action: &chainpb.GovAction_SetRoles{SetRoles: &chainpb.SetRoles{
				Member: args[0], Roles: splitList(roles),
			}}}))
		},
	}
	cmd.Flags().StringVar(&roles, "roles", "", "comma-separated roles (required)")
	return cmd
}

func newProposeSetValidatorPowerCommand(g *govFlags) *cobra.Command {
	var (
		member, pubKey string
		power          int64
	)
	cmd := &cobra.Command{
		Use:   "set-validator-power --member ID --pub-key KEY --power N",
		Short: "Propose a validator's voting power (0 removes it)",
		Long: `Set-validator-power proposes the voting power of a consensus key (ed25519,
base64 as in priv_validator_key.json's pub_key.value, or hex) run by a
member with the validator role. Power 0 removes the validator. Once
executed, the change reaches CometBFT as a validator update at the end of
the block and takes effect two blocks later.

Here --member names the validator's member; the proposing governor is the
member registered with --member-key's key.

Example:

  idledger gov propose set-validator-power --member bank-a \
      --pub-key 5mXgR0...= --power 10 --member-key gov_key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "member", "pub-key", "power"); err != nil {
				return err
			}
			pub, err := parseEd25519Pub(pubKey)
			if err != nil {
				return usagef("--pub-key: %v", err)
			}
			return propose(cmd, g, static(&chainpb.GovAction{Action: &chainpb.GovAction_SetValidatorPower{SetValidatorPower: &chainpb.SetValidatorPower{
				Member: member, PubKey: pub, Power: power,
			}}}))
		},
	}
	f := cmd.Flags()
	// --member is the gov command's own flag (the signer); this one names
	// the validator's member, so it is local and shadows it.
	f.StringVar(&member, "member", "", "the member that runs the validator (required)")
	f.StringVar(&pubKey, "pub-key", "", "the validator's ed25519 consensus key, base64 or hex (required)")
	f.Int64Var(&power, "power", 0, "voting power; 0 removes the validator (required)")
	return cmd
}

func newProposeAddAnchorCommand(g *govFlags) *cobra.Command {
	var kind, certFile string
	cmd := &cobra.Command{
		Use:   "add-anchor --kind auth|sign --cert CA.pem",
		Short: "Propose trusting a JPKI root CA",
		Long: `Add-anchor proposes trusting a JPKI root CA certificate (PEM or DER): kind
auth for user-authentication CAs (what attestations chain to), sign for
digital-signature CAs. The certificate must be a CA of the declared kind.

Example:

  idledger gov propose add-anchor --kind auth --cert jlis-auth-ca-2026.pem --member-key gov_key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "kind", "cert"); err != nil {
				return err
			}
			der, err := readDERorPEM(certFile, "CERTIFICATE")
			if err != nil {
				return err
			}
			k, err := jpki.ParseKind(kind)
			if err != nil {
				return usageError{err}
			}
			return propose(cmd, g, static(&chainpb.GovAction{Action: &chainpb.GovAction_AddAnchor{AddAnchor: &chainpb.TrustAnchor{
				Kind: k.String(), Certificate: der,
			}}}))
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "auth or sign (required)")
	cmd.Flags().StringVar(&certFile, "cert", "", "the CA certificate, PEM or DER (required)")
	return cmd
}

func newProposeRemoveAnchorCommand(g *govFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "remove-anchor ANCHOR-ID",
		Short: "Propose no longer trusting a JPKI root CA",
		Long: `Remove-anchor proposes removing a trust anchor, named by its ID: the SHA-256
of its certificate (64 hex digits, as query anchors prints it). New
attestations under it are then refused; existing ones keep their status.
The last user-authentication anchor cannot be removed.

Example:

  idledger gov propose remove-anchor 3b1f...9e --member-key gov_key.pem`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := hex.DecodeString(args[0])
			if err != nil || len(id) != sha256.Size {
				return usagef("%q: an anchor ID is 64 hex digits (the SHA-256 of its certificate)", args[0])
			}
			return propose(cmd, g, static(&chainpb.GovAction{Action: &chainpb.GovAction_RemoveAnchor{RemoveAnchor: id}}))
		},
	}
}

func newProposeSetParamsCommand(g *govFlags) *cobra.Command {
	var (
		lifetime                      time.Duration
		allowSigning                  bool
		retention, ttl                int64
		perClaim, threshold, perTxMax uint32
	)
	cmd := &cobra.Command{
		Use:   "set-params [--max-attestation-lifetime D] [--block-retention N] [...]",
		Short: "Propose changing chain parameters",
		Long: `Set-params proposes new chain parameters: the current ones, read from the
node, with the flags given changed. query params shows them.

  --max-attestation-lifetime D    longest an attestation may run (e.g. 8760h)
  --allow-signing-certificates    accept JPKI signing certificates (they carry
                                  name, address, birth date and sex: keep off)
  --block-retention N             keep the last N blocks (0: all); older block
                                  bodies are pruned, state and proofs stay
  --max-attestations-per-claim N  live attestations per subject and claim type
  --governor-threshold N          yes votes a proposal needs
  --proposal-ttl-blocks N         blocks a proposal stays open
  --max-revocations-per-tx N      commitments per RevokeSubjects transaction

Example:

  idledger gov propose set-params --max-attestation-lifetime 8760h --block-retention 100000 \
      --member-key gov_key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fl := cmd.Flags()
			names := []string{"max-attestation-lifetime", "allow-signing-certificates", "block-retention",
				"max-attestations-per-claim", "governor-threshold", "proposal-ttl-blocks", "max-revocations-per-tx"}
			changed := false
			for _, n := range names {
				changed = changed || fl.Changed(n)
			}
			if !changed {
				return usagef("give at least one parameter to change (%s)", "--"+strings.Join(names, ", --"))
			}
			if fl.Changed("max-attestation-lifetime") && (lifetime <= 0 || lifetime%time.Second != 0) {
				return usagef("--max-attestation-lifetime: want a positive whole number of seconds, such as 8760h")
			}
			return propose(cmd, g, func(ctx context.Context, c *client.Client) (*chainpb.GovAction, error) {
				cur, err := c.Params(ctx)
				if err != nil {
					return nil, err
				}
				p := proto.Clone(cur).(*chainpb.Params)
				if fl.Changed("max-attestation-lifetime") {
					p.MaxAttestationLifetime = int64(lifetime / time.Second)
				}
				if fl.Changed("allow-signing-certificates") {
					p.AllowSigningCertificates = allowSigning
				}
				if fl.Changed("block-retention") {
					p.BlockRetention = retention
				}
				if fl.Changed("max-attestations-per-claim") {
					p.MaxAttestationsPerClaim = perClaim
				}
				if fl.Changed("governor-threshold") {
					p.GovernorThreshold = threshold
				}
				if fl.Changed("proposal-ttl-blocks") {
					p.ProposalTtlBlocks = ttl
				}
				if fl.Changed("max-revocations-per-tx") {
					p.MaxRevocationsPerTx = perTxMax
				}
				return &chainpb.GovAction{Action: &chainpb.GovAction_SetParams{SetParams: p}}, nil
			})
		},
	}
	f := cmd.Flags()
	f.DurationVar(&lifetime, "max-attestation-lifetime", 0, "longest attestation lifetime, e.g. 8760h")
	f.BoolVar(&allowSigning, "allow-signing-certificates", false, "accept JPKI signing certificates (personal data: keep off)")
	f.Int64Var(&retention, "block-retention", 0, "blocks to keep (0: all)")
	f.Uint32Var(&perClaim, "max-attestations-per-claim", 0, "live attestations per subject and claim type (1-64)")
	f.Uint32Var(&threshold, "governor-threshold", 0, "yes votes a proposal needs")
	f.Int64Var(&ttl, "proposal-ttl-blocks", 0, "blocks a proposal stays open")
	f.Uint32Var(&perTxMax, "max-revocations-per-tx", 0, "commitments per RevokeSubjects transaction (1-1000)")
	return cmd
}

func newGovVoteCommand(g *govFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "vote ID",
		Short: "Vote yes on a proposal",
		Long: `Vote adds the signing governor's yes vote to an open proposal. When the votes
reach the governor threshold the action executes in the same block. There
is no "no" vote: a proposal that does not gather enough votes expires.

Example:

  idledger gov vote 3 --member-key gov_key.pem`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil || id == 0 {
				return usagef("%q: a proposal ID is a positive number", args[0])
			}
			auth, c, err := g.connect(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), g.timeout)
			defer cancel()
			r, err := c.Vote(ctx, *auth, id)
			if err != nil {
				return err
			}
			return printGovTx(cmd, g, "vote", r)
		},
	}
}
