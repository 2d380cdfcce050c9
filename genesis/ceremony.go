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

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
)

// JoinRequestVersion is the version of the join request format.
const JoinRequestVersion = 1

// joinRequestPurpose prefixes the bytes a join request's signature covers,
// so that the signature cannot be taken for any other idledger signature.
const joinRequestPurpose = "idledger/join-request/v1\x00"

// MaxJoinRequestSize bounds a join request file.
const MaxJoinRequestSize = 64 << 10

// JoinRequest is what an organisation sends to the genesis coordinator (or,
// later, to a governor) to become a member: its public keys, its node's ID
// and advertised address, and the roles it asks for, signed with its member
// key. It carries no private key.
type JoinRequest struct {
	Body JoinRequestBody `json:"request"`
	// Signature is the member key's ed25519 signature of SignBytes(Body).
	Signature []byte `json:"signature"` // base64 in JSON
}

// JoinRequestBody is the signed part of a join request.
type JoinRequestBody struct {
	Version int    `json:"version"`
	ChainID string `json:"chain_id"`
	Member  string `json:"member"`
	Name    string `json:"name,omitempty"`
	// MemberPubKey is the organisation's ed25519 member key.
	MemberPubKey []byte `json:"member_pub_key"`
	// NodeID is the CometBFT node ID (40 hex digits) of its node.
	NodeID string `json:"node_id"`
	// P2PAddress is where its node listens for peers, host:port.
	P2PAddress string `json:"p2p_address,omitempty"`
	// ValidatorPubKey is its node's ed25519 consensus key; it becomes a
	// genesis validator when Roles holds "validator".
	ValidatorPubKey []byte   `json:"validator_pub_key"`
	Roles           []string `json:"roles"`
}

// SignBytes are the bytes a join request's signature covers: a purpose tag
// and the body's JSON encoding (encoding/json of JoinRequestBody, whose
// field order is fixed).
func SignBytes(b JoinRequestBody) []byte {
	raw, _ := json.Marshal(b) // a struct of strings, ints and byte slices: cannot fail
	return append([]byte(joinRequestPurpose), raw...)
}

// NewJoinRequest signs b with the member key.
func NewJoinRequest(b JoinRequestBody, member ed25519.PrivateKey) (*JoinRequest, error) {
	b.Version = JoinRequestVersion
	b.MemberPubKey = member.Public().(ed25519.PublicKey)
	b.Roles = slices.Clone(b.Roles)
	slices.Sort(b.Roles)
	r := &JoinRequest{Body: b, Signature: ed25519.Sign(member, SignBytes(b))}
	if err := r.Check(); err != nil {
		return nil, err
	}
	return r, nil
}

// Encode returns r as indented JSON with a final newline.
func (r *JoinRequest) Encode() []byte {
	b, _ := json.MarshalIndent(r, "", "  ")
	return append(b, '\n')
}

// DecodeJoinRequest parses a join request strictly (unknown fields and
// trailing data are errors) and checks it with Check.
func DecodeJoinRequest(raw []byte) (*JoinRequest, error) {
	if len(raw) > MaxJoinRequestSize {
		return nil, fmt.Errorf("genesis: join request: %d bytes, more than %d", len(raw), MaxJoinRequestSize)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	r := new(JoinRequest)
	if err := dec.Decode(r); err != nil {
		return nil, fmt.Errorf("genesis: join request: %w", err)
	}
	if dec.More() {
		return nil, errors.New("genesis: join request: data after the JSON object")
	}
	if err := r.Check(); err != nil {
		return nil, err
	}
	return r, nil
}

// Check validates every field of r and its signature, naming the field at
// fault.
func (r *JoinRequest) Check() error {
	b := r.Body
	who := b.Member
	if who == "" {
		who = "?"
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("genesis: join request of %q: %s", who, fmt.Sprintf(format, args...))
	}
	if b.Version != JoinRequestVersion {
		return bad("version %d: this idledger reads version %d", b.Version, JoinRequestVersion)
	}
	if b.ChainID == "" || len(b.ChainID) > cmttypes.MaxChainIDLen {
		return bad("chain_id %q: want 1 to %d characters", b.ChainID, cmttypes.MaxChainIDLen)
	}
	if !chain.ValidMemberID(b.Member) {
		return bad("member %q: want 1-32 characters of a-z 0-9 -, starting with a letter or digit", b.Member)
	}
	if len(b.MemberPubKey) != ed25519.PublicKeySize {
		return bad("member_pub_key: want a 32-byte ed25519 key, got %d bytes", len(b.MemberPubKey))
	}
	if h, err := hex.DecodeString(b.NodeID); err != nil || len(h) != 20 || b.NodeID != strings.ToLower(b.NodeID) {
		return bad("node_id %q: want a CometBFT node ID (40 lower-case hex digits)", b.NodeID)
	}
	if b.P2PAddress != "" {
		if err := CheckHostPort(b.P2PAddress); err != nil {
			return bad("p2p_address %q: %v", b.P2PAddress, err)
		}
	}
	if len(b.ValidatorPubKey) != cmted25519.PubKeySize {
		return bad("validator_pub_key: want a 32-byte ed25519 consensus key, got %d bytes", len(b.ValidatorPubKey))
	}
	if err := chain.ValidateRoles(b.Roles); err != nil {
		return bad("%v", err)
	}
	if !slices.IsSorted(b.Roles) {
		return bad("roles: want them sorted")
	}
	if err := chain.ValidateMember(r.Member()); err != nil {
		return bad("%v", err)
	}
	if len(r.Signature) != ed25519.SignatureSize || !ed25519.Verify(b.MemberPubKey, SignBytes(b), r.Signature) {
		return bad("signature: not a signature of this request by its member key (altered, or signed with another key)")
	}
	return nil
}

// Member is the chain member a join request asks for: its key, roles, node
// and address.
func (r *JoinRequest) Member() *chainpb.Member {
	b := r.Body
	return &chainpb.Member{Id: b.Member, Name: b.Name, PubKey: b.MemberPubKey, Roles: slices.Clone(b.Roles),
		NodeIds: []string{b.NodeID}, P2PAddress: b.P2PAddress}
}

// AssembleOptions are the chain-wide choices of a genesis made from join
// requests.
type AssembleOptions struct {
	ChainID string
	// Anchors are the JPKI trust anchors (at least one auth anchor).
	Anchors []Anchor
	// Params default to DefaultParams with, when GovernorThreshold is 0, a
	// majority of the governors as the threshold.
	Params *Params
	// GovernorThreshold, if not 0, overrides Params.GovernorThreshold.
	GovernorThreshold uint32
	// BlockRetention, if not 0, overrides Params.BlockRetention.
	BlockRetention int64
	// ValidatorPower is every validator's voting power (default 10).
	ValidatorPower int64
	// GenesisTime defaults to now.
	GenesisTime time.Time
	// ClaimTypes are registered for every member with the attester role
	// (nil: the founding types kyc, ticket and fare-eligibility).
	ClaimTypes []string
}

// DefaultValidatorPower is each genesis validator's voting power.
const DefaultValidatorPower = 10

// Assemble checks every join request and builds the app state and the
// validator set of a genesis from them, in the order given: a member per
// request (its node ID and advertised address recorded), and a validator per
// request that asks for the validator role. It refuses, naming the request,
// a bad signature or key, an unknown role, a request for another chain, and
// a member ID, member key, node ID, consensus key or p2p address that two
// requests share. Callers may add members to the state before NewDoc.
func Assemble(opts AssembleOptions, reqs []*JoinRequest) (*AppState, []cmttypes.GenesisValidator, error) {
	if opts.ChainID == "" {
		return nil, nil, errors.New("genesis: no chain ID given")
	}
	if len(reqs) == 0 {
		return nil, nil, errors.New("genesis: no join requests given")
	}
	params := DefaultParams()
	if opts.Params != nil {
		params = *opts.Params
	}
	power := opts.ValidatorPower
	if power == 0 {
		power = DefaultValidatorPower
	}
	if opts.BlockRetention != 0 {
		params.BlockRetention = opts.BlockRetention
	}
	st := &AppState{Params: params, Anchors: opts.Anchors}
	var vals []cmttypes.GenesisValidator
	seen := map[string]string{} // "kind:value" -> member
	dup := func(kind, value, member string) error {
		k := kind + ":" + value
		if other, ok := seen[k]; ok {
			return fmt.Errorf("genesis: join request of %q: %s is the same as %q's", member, kind, other)
		}
		seen[k] = member
		return nil
	}
	governors := uint32(0)
	for _, r := range reqs {
		if err := r.Check(); err != nil {
			return nil, nil, err
		}
		b := r.Body
		if b.ChainID != opts.ChainID {
			return nil, nil, fmt.Errorf("genesis: join request of %q: it is for chain %q, not %q", b.Member, b.ChainID, opts.ChainID)
		}
		for _, d := range []struct{ kind, value string }{
			{"member ID", b.Member}, {"member key", string(b.MemberPubKey)}, {"node ID", b.NodeID},
			{"consensus key", string(b.ValidatorPubKey)}, {"p2p address", b.P2PAddress},
		} {
			if d.value == "" {
				continue
			}
			if err := dup(d.kind, d.value, b.Member); err != nil {
				return nil, nil, err
			}
		}
		m := Member{ID: b.Member, Name: b.Name, PubKey: b.MemberPubKey, Roles: slices.Clone(b.Roles),
			NodeIDs: []string{b.NodeID}, P2PAddress: b.P2PAddress}
		if slices.Contains(b.Roles, chain.RoleValidator) {
			m.ValidatorKeys = [][]byte{b.ValidatorPubKey}
			pub := cmted25519.PubKey(b.ValidatorPubKey)
			vals = append(vals, cmttypes.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: power, Name: b.Member})
		}
		if slices.Contains(b.Roles, chain.RoleGovernor) {
			governors++
		}
		st.Members = append(st.Members, m)
	}
	if len(vals) == 0 {
		return nil, nil, errors.New("genesis: no join request asks for the validator role: a chain needs at least one validator")
	}
	switch {
	case opts.GovernorThreshold != 0:
		st.Params.GovernorThreshold = opts.GovernorThreshold
	case opts.Params == nil && governors > 0:
		st.Params.GovernorThreshold = governors/2 + 1
	}
	if st.Params.GovernorThreshold > governors {
		return nil, nil, fmt.Errorf("genesis: governor threshold %d: only %d join requests ask for the governor role", st.Params.GovernorThreshold, governors)
	}
	var attesters []string
	for _, m := range st.Members {
		if slices.Contains(m.Roles, chain.RoleAttester) {
			attesters = append(attesters, m.ID)
		}
	}
	if len(attesters) > 0 {
		st.ClaimTypes = FoundingClaimTypes(opts.ClaimTypes, attesters, time.Duration(st.Params.MaxAttestationLifetime))
	}
	return st, vals, nil
}

// AssembleDoc is Assemble then NewDoc.
func AssembleDoc(opts AssembleOptions, reqs []*JoinRequest) (*cmttypes.GenesisDoc, error) {
	st, vals, err := Assemble(opts, reqs)
	if err != nil {
		return nil, err
	}
	t := opts.GenesisTime
	if t.IsZero() {
		t = time.Now()
	}
	return NewDoc(opts.ChainID, t.UTC().Truncate(time.Millisecond), vals, st)
}

// CheckHostPort checks a host:port with an explicit host (an IP address
// or a DNS name) and a port number: chain.CheckHostPort, the check
// governance's add_member applies too.
func CheckHostPort(addr string) error { return chain.CheckHostPort(addr) }
