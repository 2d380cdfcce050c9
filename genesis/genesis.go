package genesis

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	p := s.Params
	if p.MaxAttestationLifetime <= 0 || time.Duration(p.MaxAttestationLifetime)%time.Second != 0 {
		bad("params.max_attestation_lifetime", "want a positive whole number of seconds, got %s", time.Duration(p.MaxAttestationLifetime))
	}
	if p.BlockRetention < 0 {
		bad("params.block_retention", "want 0 (keep every block) or a positive number of blocks, got %d", p.BlockRetention)
	}
	if p.MaxAttestationsPerClaim == 0 || p.MaxAttestationsPerClaim > 64 {
		bad("params.max_attestations_per_claim", "want 1 to 64, got %d", p.MaxAttestationsPerClaim)
	}
	if p.ProposalTTLBlocks <= 0 {
		bad("params.proposal_ttl_blocks", "want a positive number of blocks, got %d", p.ProposalTTLBlocks)
	}
	if p.MaxRevocationsPerTx == 0 || p.MaxRevocationsPerTx > 1000 {
		bad("params.max_revocations_per_tx", "want 1 to 1000, got %d", p.MaxRevocationsPerTx)
	}

	if len(s.Members) == 0 {
		bad("members", "a chain needs at least one member")
	}
	ids := map[string]bool{}
	keys := map[string]string{}
	nodes := map[string]string{}
	governors := 0
	for i, m := range s.Members {
		f := fmt.Sprintf("members[%d]", i)
		if !chain.ValidMemberID(m.ID) {
			bad(f+".id", "%q: want 1-32 characters of a-z 0-9 -, starting with a letter or digit", m.ID)
		} else if ids[m.ID] {
			bad(f+".id", "%q appears twice", m.ID)
		}
		ids[m.ID] = true
		if len(m.PubKey) != ed25519.PublicKeySize {
			bad(f+".pub_key", "want a %d-byte ed25519 key, got %d bytes", ed25519.PublicKeySize, len(m.PubKey))
		} else if other, dup := keys[string(m.PubKey)]; dup {
			bad(f+".pub_key", "the same key as member %q", other)
		}
		keys[string(m.PubKey)] = m.ID
		if len(m.Roles) == 0 {
			bad(f+".roles", "a member needs at least one role (%s)", strings.Join(chain.AllRoles, ", "))
		}
		seen := map[string]bool{}
		for _, r := range m.Roles {
			if !chain.ValidRole(r) {
				bad(f+".roles", "%q is not a role (%s)", r, strings.Join(chain.AllRoles, ", "))
			} else if seen[r] {
				bad(f+".roles", "%q appears twice", r)
			}
			seen[r] = true
		}
		if seen[chain.RoleGovernor] {
			governors++
		}
		for j, n := range m.NodeIDs {
			if b, err := hex.DecodeString(n); err != nil || len(b) != 20 || n != strings.ToLower(n) {
				bad(fmt.Sprintf("%s.node_ids[%d]", f, j), "%q: want a CometBFT node ID (40 lower-case hex digits)", n)
			} else if other, dup := nodes[n]; dup {
				bad(fmt.Sprintf("%s.node_ids[%d]", f, j), "%s is already member %q's", n, other)
			}
			nodes[n] = m.ID
		}
	}
	if governors > 0 && (p.GovernorThreshold == 0 || int(p.GovernorThreshold) > governors) {
		bad("params.governor_threshold", "want 1 to %d (the number of governors), got %d", governors, p.GovernorThreshold)
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
	if authAnchors == 0 {
		bad("anchors", "at least one user-authentication (\"auth\") trust anchor is needed to accept any attestation")
	}
	return errors.Join(errs...)
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
		g.Members = append(g.Members, &chainpb.Member{Id: m.ID, Name: m.Name, PubKey: m.PubKey, Roles: roles, NodeIds: nodes})
	}
	for _, a := range s.Anchors {
		g.Anchors = append(g.Anchors, &chainpb.TrustAnchor{Kind: a.Kind, Certificate: a.Certificate})
	}
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
		ConsensusParams: cmttypes.DefaultConsensusParams(),
		Validators:      validators,
		AppState:        raw,
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	return doc, nil
}
