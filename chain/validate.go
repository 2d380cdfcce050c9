package chain

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
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

// ValidateMember checks a member record's form: ID, key, roles, node IDs.
func ValidateMember(m *chainpb.Member) error {
	if !ValidMemberID(m.Id) {
		return fmt.Errorf("id %q: want 1-32 characters of a-z 0-9 -, starting with a letter or digit", m.Id)
	}
	for _, f := range []struct{ name, text string }{{"id", m.Id}, {"name", m.Name}} {
		if d, found := privacy.FindMyNumber([]byte(f.text)); found {
			return fmt.Errorf("%s carries what looks like a My Number (%s): the ledger never records one", f.name, privacy.Mask(d))
		}
	}
	if len(m.PubKey) != ed25519.PublicKeySize {
		return fmt.Errorf("pub_key: want a %d-byte ed25519 key, got %d bytes", ed25519.PublicKeySize, len(m.PubKey))
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
	return nil
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
