package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
)

// claimTypeView is a registry entry as printed.
type claimTypeView struct {
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	SchemaHash    string   `json:"schema_hash,omitempty"`
	Attesters     []string `json:"attesters"`
	MaxValidity   string   `json:"max_validity"`
	Retired       bool     `json:"retired"`
	Height        int64    `json:"height"`
	RetiredHeight int64    `json:"retired_height,omitempty"`
}

func viewClaimType(ct *chainpb.ClaimType) *claimTypeView {
	if ct == nil {
		return nil
	}
	return &claimTypeView{
		Name: ct.Name, Description: ct.Description, SchemaHash: hex.EncodeToString(ct.SchemaHash),
		Attesters: ct.Attesters, MaxValidity: (time.Duration(ct.MaxValidity) * time.Second).String(),
		Retired: ct.Retired, Height: ct.Height, RetiredHeight: ct.RetiredHeight,
	}
}

func (v *claimTypeView) text(w io.Writer) {
	state := "active"
	if v.Retired {
		state = fmt.Sprintf("retired at height %d", v.RetiredHeight)
	}
	fmt.Fprintf(w, "%s (%s)\n", v.Name, state)
	if v.Description != "" {
		fmt.Fprintf(w, "  description:  %s\n", v.Description)
	}
	if v.SchemaHash != "" {
		fmt.Fprintf(w, "  schema hash:  %s\n", v.SchemaHash)
	}
	fmt.Fprintf(w, "  attesters:    %s\n", strings.Join(v.Attesters, ", "))
	fmt.Fprintf(w, "  max validity: %s\n", v.MaxValidity)
	fmt.Fprintf(w, "  registered:   height %d (0: genesis)\n", v.Height)
}

func newQueryClaimTypesCommand(q *queryFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "claim-types",
		Short: "List the claim-type registry",
		Long: `Claim-types lists the claim-type registry in name order: what each type
means (description, SHA-256 of its schema document), the members allowed to
attest it, the longest validity an attestation of it may have, and whether
it is retired. Only a registered, unretired type can be attested, only by
its attesters. Governance changes the registry (idledger gov propose
register-claim-type, retire-claim-type); see docs/claim-types.md.

Example:

  idledger query claim-types -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cts, err := fetch(cmd, q, (*client.Client).ClaimTypes)
			if err != nil {
				return err
			}
			vs := make([]*claimTypeView, len(cts))
			for i, ct := range cts {
				vs[i] = viewClaimType(ct)
			}
			return q.output.print(cmd.OutOrStdout(), vs, func(w io.Writer) {
				if len(vs) == 0 {
					fmt.Fprintln(w, "no claim types are registered: nothing can be attested")
				}
				for _, v := range vs {
					v.text(w)
				}
			})
		},
	}
}

func newProposeRegisterClaimTypeCommand(g *govFlags) *cobra.Command {
	var (
		name, description, schemaHash, schemaFile string
		attesters                                 []string
		maxValidity                               time.Duration
	)
	cmd := &cobra.Command{
		Use:   "register-claim-type --name N --attester ID... --max-validity D [--schema-hash H | --schema-file F] [--description TEXT]",
		Short: "Propose registering a claim type, or changing a registered one",
		Long: `Register-claim-type proposes a claim-type registry entry: the name attestations
use as their claim type, what it means (--description, and the SHA-256 of
the document that defines the claim: --schema-hash, or --schema-file to
hash a file), the members allowed to attest it (--attester, repeatable or
comma-separated; each must hold the attester role) and the longest validity
an attestation of it may have (--max-validity).

On a registered name it replaces the entry: the new attester list and
maximum apply to new attestations only; attestations made before stay
valid until their not-after unless revoked (docs/claim-types.md). A retired
name cannot be registered again.

Examples:

  idledger gov propose register-claim-type --name student-fare \
      --attester univ-a --attester univ-b --max-validity 8760h \
      --schema-file student-fare.schema.json \
      --description "enrolled student, for discounted fares" --member-key gov_key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "name", "attester", "max-validity"); err != nil {
				return err
			}
			ct := &chainpb.ClaimType{Name: name, Description: description, MaxValidity: int64(maxValidity / time.Second)}
			if maxValidity%time.Second != 0 {
				return usagef("--max-validity: want a whole number of seconds, got %s", maxValidity)
			}
			for _, a := range attesters {
				ct.Attesters = append(ct.Attesters, splitList(a)...)
			}
			switch {
			case schemaHash != "" && schemaFile != "":
				return usagef("give --schema-hash or --schema-file, not both")
			case schemaHash != "":
				h, err := hex.DecodeString(schemaHash)
				if err != nil || len(h) != sha256.Size {
					return usagef("--schema-hash: want the 64-hex-digit SHA-256 of the schema document")
				}
				ct.SchemaHash = h
			case schemaFile != "":
				b, err := os.ReadFile(schemaFile)
				if err != nil {
					return err
				}
				h := sha256.Sum256(b)
				ct.SchemaHash = h[:]
			}
			return propose(cmd, g, static(&chainpb.GovAction{Action: &chainpb.GovAction_RegisterClaimType{RegisterClaimType: ct}}))
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "claim type name: 1-64 characters of a-z 0-9 . _ - (required)")
	f.StringArrayVar(&attesters, "attester", nil, "member ID allowed to attest this type (required; repeatable, or comma-separated)")
	f.DurationVar(&maxValidity, "max-validity", 0, "longest validity of an attestation of this type, e.g. 8760h (required)")
	f.StringVar(&schemaHash, "schema-hash", "", "SHA-256 of the schema document, 64 hex digits")
	f.StringVar(&schemaFile, "schema-file", "", "the schema document, to hash")
	f.StringVar(&description, "description", "", "what an attestation of this type means (plain text, no personal data)")
	return cmd
}

func newProposeRetireClaimTypeCommand(g *govFlags) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "retire-claim-type --name N",
		Short: "Propose retiring a claim type",
		Long: `Retire-claim-type proposes retiring a claim type: once executed no new
attestation of it is accepted (code 71). Attestations made before stay
valid until their not-after unless revoked; to stop them at once, revoke
them. A retired name is never registered again.

Example:

  idledger gov propose retire-claim-type --name ticket --member-key gov_key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "name"); err != nil {
				return err
			}
			return propose(cmd, g, static(&chainpb.GovAction{Action: &chainpb.GovAction_RetireClaimType{RetireClaimType: name}}))
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "claim type name (required)")
	return cmd
}

// describeClaimTypeAction describes the registry's actions for describeAction.
func describeClaimTypeAction(a *chainpb.GovAction) (string, string, bool) {
	switch act := a.GetAction().(type) {
	case *chainpb.GovAction_RegisterClaimType:
		ct := act.RegisterClaimType
		return "register-claim-type", fmt.Sprintf("%s attesters=%s max_validity=%s schema_hash=%x",
			ct.Name, strings.Join(ct.Attesters, ","), time.Duration(ct.MaxValidity)*time.Second, ct.SchemaHash), true
	case *chainpb.GovAction_RetireClaimType:
		return "retire-claim-type", act.RetireClaimType, true
	}
	return "", "", false
}
