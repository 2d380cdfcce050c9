package genesis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/jpki"
)

// AppState is the app_state of idledger's genesis.json.
type AppState struct {
	Params  Params   `json:"params"`
	Members []Member `json:"members"`
	Anchors []Anchor `json:"anchors"`
	// ClaimTypes are the first entries of the claim-type registry
	// (claimtypes.go).
	ClaimTypes []ClaimType `json:"claim_types,omitempty"`
}

// Params are the chain parameters (see chainpb.Params for their meaning).
type Params struct {
	MaxAttestationLifetime   Duration `json:"max_attestation_lifetime"`
	AllowSigningCertificates bool     `json:"allow_signing_certificates"`
	BlockRetention           int64    `json:"block_retention"`
	MaxAttestationsPerClaim  uint32   `json:"max_attestations_per_claim"`
	GovernorThreshold        uint32   `json:"governor_threshold"`
	ProposalTTLBlocks        int64    `json:"proposal_ttl_blocks"`
	MaxRevocationsPerTx      uint32   `json:"max_revocations_per_tx"`
}

// Member is a member organisation.
type Member struct {
	ID      string   `json:"id"`
	Name    string   `json:"name,omitempty"`
	PubKey  []byte   `json:"pub_key"` // ed25519, base64 in JSON
	Roles   []string `json:"roles"`
	NodeIDs []string `json:"node_ids,omitempty"`
	// ValidatorKeys are the ed25519 consensus keys of this member's genesis
	// validators, so that governance can later change their power.
	ValidatorKeys [][]byte `json:"validator_keys,omitempty"`
	// P2PAddress is the host:port where the member's node listens for
	// peers, from its join request; genesis install makes it a persistent
	// peer of every other member's node.
	P2PAddress string `json:"p2p_address,omitempty"`
}

// ValidatorMember names the member whose validator key pub is, or "".
func (s *AppState) ValidatorMember(pub []byte) string {
	for _, m := range s.Members {
		for _, k := range m.ValidatorKeys {
			if bytes.Equal(k, pub) {
				return m.ID
			}
		}
	}
	return ""
}

// Anchor is a JPKI trust anchor: a CA certificate and its kind.
type Anchor struct {
	Kind        string `json:"kind"` // "auth" or "sign"
	Name        string `json:"name,omitempty"`
	Certificate []byte `json:"certificate"` // DER, base64 in JSON
}

// Duration is a time.Duration written as "8760h0m0s" in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"8760h\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// DefaultParams are the parameters of a new chain.
func DefaultParams() Params {
	return Params{
		MaxAttestationLifetime:   Duration(365 * 24 * time.Hour),
		AllowSigningCertificates: false,
		BlockRetention:           0,
		MaxAttestationsPerClaim:  8,
		GovernorThreshold:        1,
		ProposalTTLBlocks:        1000,
		MaxRevocationsPerTx:      256,
	}
}

// ParseAppState decodes app_state strictly: unknown fields are errors.
func ParseAppState(raw []byte) (*AppState, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	s := new(AppState)
	if err := dec.Decode(s); err != nil {
		return nil, fmt.Errorf("genesis: app_state: %w", err)
	}
	return s, nil
}

// Validate checks every field and returns all problems found, each naming
// its field.
func (s *AppState) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("genesis: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	if d := time.Duration(s.Params.MaxAttestationLifetime); d%time.Second != 0 {
		bad("params.max_attestation_lifetime", "want a whole number of seconds, got %s", d)
	}
	if len(s.Members) == 0 {
		bad("members", "a chain needs at least one member")
	}
	g := s.Chain()
	ids := map[string]bool{}
	keys := map[string]string{}
	nodes := map[string]string{}
	governors := 0
	for i, m := range g.Members {
		f := fmt.Sprintf("members[%d]", i)
		if err := chain.ValidateMember(m); err != nil {
			bad(f, "%v", err)
			continue
		}
		if ids[m.Id] {
			bad(f+".id", "%q appears twice", m.Id)
		}
		ids[m.Id] = true
		if other, dup := keys[string(m.PubKey)]; dup {
			bad(f+".pub_key", "the same key as member %q", other)
		}
		keys[string(m.PubKey)] = m.Id
		for _, n := range m.NodeIds {
			if other, dup := nodes[n]; dup {
				bad(f+".node_ids", "%s is already member %q's", n, other)
			}
			nodes[n] = m.Id
		}
		if chain.HasRole(m, chain.RoleGovernor) {
			governors++
		}
		if a := s.Members[i].P2PAddress; a != "" {
			if err := CheckHostPort(a); err != nil {
				bad(f+".p2p_address", "%q: %v", a, err)
			}
		}
		for j, k := range s.Members[i].ValidatorKeys {
			if len(k) != 32 {
				bad(fmt.Sprintf("%s.validator_keys[%d]", f, j), "want a 32-byte ed25519 consensus key, got %d bytes", len(k))
			}
		}
	}
	if err := chain.ValidateParams(g.Params, governors); err != nil {
		bad("params", "%v", err)
	}

	authAnchors := 0
	anchorIDs := map[[32]byte]bool{}
	for i, a := range s.Anchors {
		f := fmt.Sprintf("anchors[%d]", i)
		kind, err := jpki.ParseKind(a.Kind)
		if err != nil || kind == jpki.KindUnknown {
			bad(f+".kind", "%q: want \"auth\" or \"sign\"", a.Kind)
			continue
		}
		pa, err := jpki.ParseAnchor(a.Certificate)
		if err != nil {
			bad(f+".certificate", "%v", err)
			continue
		}
		if pa.Kind != kind {
			bad(f+".kind", "declared %q but the certificate %q is a %s CA", a.Kind, pa.Cert.Subject, pa.Kind)
			continue
		}
		if anchorIDs[pa.ID] {
			bad(f+".certificate", "the same certificate appears twice")
		}
		anchorIDs[pa.ID] = true
		if kind == jpki.KindAuth {
			authAnchors++
		}
	}
	errs = append(errs, s.validateClaimTypes(g)...)
	if authAnchors == 0 {
		bad("anchors", "at least one user-authentication (\"auth\") trust anchor is needed to accept any attestation")
	}
	return errors.Join(errs...)
}

// ParamsOf is the chain's parameters in the genesis form, the inverse of
// what Chain makes of Params: how idledger query params prints them.
func ParamsOf(p *chainpb.Params) Params {
	return Params{
		MaxAttestationLifetime:   Duration(time.Duration(p.MaxAttestationLifetime) * time.Second),
		AllowSigningCertificates: p.AllowSigningCertificates,
		BlockRetention:           p.BlockRetention,
		MaxAttestationsPerClaim:  p.MaxAttestationsPerClaim,
		GovernorThreshold:        p.GovernorThreshold,
		ProposalTTLBlocks:        p.ProposalTtlBlocks,
		MaxRevocationsPerTx:      p.MaxRevocationsPerTx,
	}
}

// Chain converts a validated app state to the chain's genesis.
func (s *AppState) Chain() *chain.Genesis {
	p := s.Params
	g := &chain.Genesis{Params: &chainpb.Params{
		MaxAttestationLifetime:   int64(time.Duration(p.MaxAttestationLifetime) / time.Second),
		AllowSigningCertificates: p.AllowSigningCertificates,
		BlockRetention:           p.BlockRetention,
		MaxAttestationsPerClaim:  p.MaxAttestationsPerClaim,
		GovernorThreshold:        p.GovernorThreshold,
		ProposalTtlBlocks:        p.ProposalTTLBlocks,
		MaxRevocationsPerTx:      p.MaxRevocationsPerTx,
	}}
	for _, m := range s.Members {
		roles := slices.Clone(m.Roles)
		slices.Sort(roles)
		nodes := slices.Clone(m.NodeIDs)
		slices.Sort(nodes)
		g.Members = append(g.Members, &chainpb.Member{Id: m.ID, Name: m.Name, PubKey: m.PubKey, Roles: roles, NodeIds: nodes, P2PAddress: m.P2PAddress})
	}
	for _, a := range s.Anchors {
		g.Anchors = append(g.Anchors, &chainpb.TrustAnchor{Kind: a.Kind, Certificate: a.Certificate})
	}
	g.ClaimTypes = s.chainClaimTypes()
	return g
}

// FromDoc reads and validates the app state of a CometBFT genesis document.
func FromDoc(doc *cmttypes.GenesisDoc) (*AppState, error) {
	s, err := ParseAppState(doc.AppState)
	if err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// NewDoc makes a CometBFT genesis document carrying s, after validating it.
func NewDoc(chainID string, genesisTime time.Time, validators []cmttypes.GenesisValidator, s *AppState) (*cmttypes.GenesisDoc, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	doc := &cmttypes.GenesisDoc{
		ChainID:         chainID,
		GenesisTime:     genesisTime.UTC(),
		InitialHeight:   1,
		ConsensusParams: ConsensusParams(),
		Validators:      validators,
		AppState:        raw,
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	return doc, nil
}
