package chain

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/privacy"
)

// ValidateParams checks parameter ranges. governors is the number of
// members with the governor role the threshold must be reachable by.
func ValidateParams(p *chainpb.Params, governors int) error {
	switch {
	case p.MaxAttestationLifetime <= 0:
		return fmt.Errorf("max_attestation_lifetime: want a positive number of seconds, got %d", p.MaxAttestationLifetime)
	case p.BlockRetention < 0:
		return fmt.Errorf("block_retention: want 0 (keep every block) or a positive number of blocks, got %d", p.BlockRetention)
	case p.MaxAttestationsPerClaim == 0 || p.MaxAttestationsPerClaim > 64:
		return fmt.Errorf("max_attestations_per_claim: want 1 to 64, got %d", p.MaxAttestationsPerClaim)
	case p.ProposalTtlBlocks <= 0:
		return fmt.Errorf("proposal_ttl_blocks: want a positive number of blocks, got %d", p.ProposalTtlBlocks)
	case p.MaxRevocationsPerTx == 0 || p.MaxRevocationsPerTx > 1000:
		return fmt.Errorf("max_revocations_per_tx: want 1 to 1000, got %d", p.MaxRevocationsPerTx)
	case governors > 0 && (p.GovernorThreshold == 0 || int(p.GovernorThreshold) > governors):
		return fmt.Errorf("governor_threshold: want 1 to %d (the number of governors), got %d", governors, p.GovernorThreshold)
	}
	return nil
}

// MaxP2PAddressLen bounds a member's p2p_address: a 253-character DNS
// name, a colon and a port fit.
const MaxP2PAddressLen = 260

// ValidateMember checks a member record's form: ID, key, roles, node IDs,
// p2p address.
func ValidateMember(m *chainpb.Member) error {
	if !ValidMemberID(m.Id) {
		return fmt.Errorf("id %q: want 1-32 characters of a-z 0-9 -, starting with a letter or digit", m.Id)
	}
	for _, f := range []struct{ name, text string }{{"id", m.Id}, {"name", m.Name}, {"p2p_address", m.P2PAddress}} {
		if d, found := privacy.FindMyNumber([]byte(f.text)); found {
			return fmt.Errorf("%s carries what looks like a My Number (%s): the ledger never records one", f.name, privacy.Mask(d))
		}
	}
	if len(m.PubKey) != ed25519.PublicKeySize {
		return fmt.Errorf("pub_key: want a %d-byte ed25519 key, got %d bytes", ed25519.PublicKeySize, len(m.PubKey))
	}
	if err := checkMemberKey(m.PubKey); err != nil {
		return fmt.Errorf("pub_key: not an ed25519 public key anyone could use: %v", err)
	}
	if err := ValidateRoles(m.Roles); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, n := range m.NodeIds {
		if b, err := hex.DecodeString(n); err != nil || len(b) != 20 || n != strings.ToLower(n) {
			return fmt.Errorf("node_ids: %q: want a CometBFT node ID (40 lower-case hex digits)", n)
		}
		if seen[n] {
			return fmt.Errorf("node_ids: %s appears twice", n)
		}
		seen[n] = true
	}
	if a := m.P2PAddress; a != "" {
		if len(a) > MaxP2PAddressLen {
			return fmt.Errorf("p2p_address: %d bytes, want host:port of at most %d", len(a), MaxP2PAddressLen)
		}
		if err := CheckHostPort(a); err != nil {
			return fmt.Errorf("p2p_address %q: %v", a, err)
		}
	}
	return nil
}

// CheckHostPort checks a p2p address: host:port, the host an IP address or
// a DNS name (letters, digits, hyphens and dots), the port 1 to 65535. The
// genesis ceremony and governance's add_member both apply it.
func CheckHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port")
	}
	if host == "" {
		return errors.New("want an explicit host such as 127.0.0.1")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
		return errors.New("bad port")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return errors.New("want an IP address without a zone")
		}
		return nil
	}
	if !validHostName(host) {
		return errors.New("want an IP address or a DNS name as the host")
	}
	return nil
}

// validHostName: 1 to 253 characters, dot-separated labels of 1 to 63
// letters, digits and hyphens, no label starting or ending with a hyphen.
func validHostName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// ValidateRoles checks a role list: at least one, each known, none twice.
func ValidateRoles(roles []string) error {
	if len(roles) == 0 {
		return fmt.Errorf("roles: a member needs at least one role (%s)", strings.Join(AllRoles, ", "))
	}
	seen := map[string]bool{}
	for _, r := range roles {
		if !ValidRole(r) {
			return fmt.Errorf("roles: %q is not a role (%s)", r, strings.Join(AllRoles, ", "))
		}
		if seen[r] {
			return fmt.Errorf("roles: %q appears twice", r)
		}
		seen[r] = true
	}
	return nil
}
