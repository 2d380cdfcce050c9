package chain

import (
	"bytes"
	"fmt"

	ics23 "github.com/cosmos/ics23/go"
)

// The proof half of the query protocol: what a reader checks of a proven
// PathKey answer, or of an entry a feed carries. Pure functions of bytes;
// fetching the answer and verifying the header whose app hash is the root
// are the caller's (package client, package verifier).

// ProofError is returned by DecodeProofOp, DecodeProof and CheckProof when a
// proof does not prove what was asked. The answer must not be used.
type ProofError struct {
	// Reason says what is wrong, in plain words.
	Reason string
}

func (e *ProofError) Error() string { return "chain: " + e.Reason }

func proofErr(format string, args ...any) error {
	return &ProofError{Reason: fmt.Sprintf(format, args...)}
}

// DecodeProofOp decodes the proof op of a proven PathKey answer for key: its
// type must be ProofOpIAVL and its key the key asked for.
func DecodeProofOp(key []byte, opType string, opKey, data []byte) (*ics23.CommitmentProof, error) {
	if opType != ProofOpIAVL {
		return nil, proofErr("proof op type %q, want %q", opType, ProofOpIAVL)
	}
	if !bytes.Equal(opKey, key) {
		return nil, proofErr("the proof is for key %x, not %x", opKey, key)
	}
	return DecodeProof(data)
}

// DecodeProof decodes an ICS23 commitment proof.
func DecodeProof(data []byte) (*ics23.CommitmentProof, error) {
	p := new(ics23.CommitmentProof)
	if err := p.Unmarshal(data); err != nil {
		return nil, proofErr("the proof does not decode: %v", err)
	}
	return p, nil
}

// CheckProof checks an existence proof of (key, value), or a non-existence
// proof of key when value is empty, against root: the app hash of the
// header of the block after the state version the proof was read at.
func CheckProof(p *ics23.CommitmentProof, key, value, root []byte) error {
	if len(root) == 0 {
		return proofErr("the verified header has no app hash")
	}
	if p == nil {
		return proofErr("no proof")
	}
	if len(value) > 0 {
		if !ics23.VerifyMembership(ics23.IavlSpec, root, p, key, value) {
			return proofErr("the proof of key %x and its value does not match app hash %X", key, root)
		}
		return nil
	}
	if !ics23.VerifyNonMembership(ics23.IavlSpec, root, p, key) {
		return proofErr("the proof that key %x is absent does not match app hash %X", key, root)
	}
	return nil
}
