package chain

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// State layout. One IAVL tree; every key starts with a one-byte prefix.
//
//	0x01 member ID                 -> Member (roles, key, sequence)
//	0x02                           -> AnchorSet (all trust anchors: one key, parsed once and cached)
//	0x03                           -> Params
//	0x04 attestation ID (12 bytes) -> Attestation
//	0x05 subject (32) claim type   -> ClaimStatus (what a status query proves)
//	0x06 subject (32)              -> SubjectRevocation
//	0x07 proposal ID (8)           -> Proposal
//	0x08 ed25519 validator key     -> Validator
//	0x09                           -> next proposal ID
//	0x0a                           -> chain ID
//	0x0b                           -> last block (height, time)
//	0x0c expiry height, proposal ID -> (empty) open proposals by expiry
//	0x0d validator key             -> power decided this block (cleared by EndBlock)
//	0x18 claim type name           -> ClaimType (the claim-type registry: chain/registry.go)
//
// Attestation IDs are the big-endian block height and transaction index, so
// new attestations append at the right edge of the tree (local inserts): an
// Attest transaction writes its member record (hot), its attestation (append)
// and one ClaimStatus (the only random insert). A subject's claims are one
// range: 0x05 || subject.
const (
	prefixMember       = 0x01
	prefixAnchors      = 0x02
	prefixParams       = 0x03
	prefixAttestation  = 0x04
	prefixClaim        = 0x05
	prefixSubjectRevok = 0x06
	prefixProposal     = 0x07
	prefixValidator    = 0x08
	prefixNextProposal = 0x09
	prefixChainID      = 0x0a
	prefixLastBlock    = 0x0b
	prefixExpiry       = 0x0c
	prefixPendingPower = 0x0d
)

// AttestationIDLen is the length of an attestation ID.
const AttestationIDLen = 12

func MemberKey(id string) []byte           { return append([]byte{prefixMember}, id...) }
func MembersPrefix() []byte                { return []byte{prefixMember} }
func AnchorsKey() []byte                   { return []byte{prefixAnchors} }
func ParamsKey() []byte                    { return []byte{prefixParams} }
func AttestationKey(id []byte) []byte      { return append([]byte{prefixAttestation}, id...) }
func SubjectRevocationKey(s []byte) []byte { return append([]byte{prefixSubjectRevok}, s...) }
func ProposalKey(id uint64) []byte         { return binary.BigEndian.AppendUint64([]byte{prefixProposal}, id) }
func ProposalsPrefix() []byte              { return []byte{prefixProposal} }
func ValidatorKey(pub []byte) []byte       { return append([]byte{prefixValidator}, pub...) }
func ValidatorsPrefix() []byte             { return []byte{prefixValidator} }
func NextProposalKey() []byte              { return []byte{prefixNextProposal} }
func ChainIDKey() []byte                   { return []byte{prefixChainID} }
func LastBlockKey() []byte                 { return []byte{prefixLastBlock} }

// ProposalExpiryKey indexes an open proposal by the height it expires at, so
// that EndBlock finds the proposals to expire in one short range.
func ProposalExpiryKey(height int64, id uint64) []byte {
	k := binary.BigEndian.AppendUint64([]byte{prefixExpiry}, uint64(height))
	return binary.BigEndian.AppendUint64(k, id)
}

// PendingPowerKey holds a validator power change decided in the current
// block until EndBlock hands it to CometBFT.
func PendingPowerKey(pub []byte) []byte { return append([]byte{prefixPendingPower}, pub...) }

// ClaimKey is the key of the ClaimStatus of (subject, claim type).
func ClaimKey(subject []byte, claimType string) []byte {
	k := make([]byte, 0, 1+len(subject)+len(claimType))
	k = append(k, prefixClaim)
	k = append(k, subject...)
	return append(k, claimType...)
}

// SubjectClaimsPrefix is the range of all ClaimStatus keys of a subject.
func SubjectClaimsPrefix(subject []byte) []byte {
	return append([]byte{prefixClaim}, subject...)
}

// PrefixEnd returns the first key after every key that starts with prefix,
// or nil when there is none.
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// AttestationID makes the ID of the attestation in transaction txIndex of
// the block at height.
func AttestationID(height int64, txIndex uint32) []byte {
	id := make([]byte, AttestationIDLen)
	binary.BigEndian.PutUint64(id, uint64(height))
	binary.BigEndian.PutUint32(id[8:], txIndex)
	return id
}

// ParseAttestationID parses the hex form of an attestation ID.
func ParseAttestationID(s string) ([]byte, error) {
	id, err := hex.DecodeString(s)
	if err != nil || len(id) != AttestationIDLen {
		return nil, fmt.Errorf("chain: attestation ID must be %d hex digits", 2*AttestationIDLen)
	}
	return id, nil
}

// ParseSubject parses the hex form of an identity commitment.
func ParseSubject(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("chain: a subject commitment is 64 hex digits")
	}
	return b, nil
}
