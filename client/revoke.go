package client

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/signer"
)

// RevokeAttestationRequest revokes one attestation. Exactly one of Member
// and Subject signs: the attestation's attester or any revoker (a member),
// or the subject with its JPKI key (a certificate with the attestation's
// identity commitment).
type RevokeAttestationRequest struct {
	ID     []byte
	Reason string
	Member *MemberAuth
	// Subject is the holder's JPKI key (a software key or a card plugin).
	Subject signer.Signer
	// ChainID to sign for when Subject signs; "" means the node's.
	ChainID string
}

// RevokeResult is a committed revocation.
type RevokeResult struct {
	ID     []byte
	Height int64
	TxHash []byte
	// By is the revoking member, or chain.BySubject.
	By       string
	Sequence uint64 // the member's sequence number (member revocations)
}

// RevokeAttestation revokes one attestation and waits for the commit.
// Refusals are *TxError (an unknown attestation is code 50, one already
// revoked 51, a signer with no right to revoke it 52).
func (c *Client) RevokeAttestation(ctx context.Context, req RevokeAttestationRequest) (*RevokeResult, error) {
	if len(req.ID) != chain.AttestationIDLen {
		return nil, fmt.Errorf("client: revoke: an attestation ID is %d bytes, got %d", chain.AttestationIDLen, len(req.ID))
	}
	if (req.Member == nil) == (req.Subject == nil) {
		return nil, errors.New("client: revoke: give a member key or the subject's signer, not both")
	}
	if len(req.Reason) > chain.MaxReasonLen {
		return nil, fmt.Errorf("client: revoke: the reason is over %d bytes", chain.MaxReasonLen)
	}
	msg := &chainpb.RevokeAttestation{AttestationId: req.ID, Reason: req.Reason}
	if req.Member != nil {
		r, err := c.SubmitMemberTx(ctx, *req.Member, &chainpb.TxBody{Msg: &chainpb.TxBody_RevokeAttestation{RevokeAttestation: msg}})
		if err != nil {
			return nil, err
		}
		return &RevokeResult{ID: req.ID, Height: r.Height, TxHash: r.Hash, By: r.Member, Sequence: r.Sequence}, nil
	}

	chainID, err := c.chainIDOr(ctx, req.ChainID)
	if err != nil {
		return nil, err
	}
	pre := &chainpb.RevokeAttestation{AttestationId: req.ID, Reason: req.Reason, SubjectCertificate: []byte{0}}
	if err := checkBody(chainID, false, 256, &chainpb.TxBody{ChainId: chainID, Msg: &chainpb.TxBody_RevokeAttestation{RevokeAttestation: pre}}); err != nil {
		return nil, err
	}
	cert, err := req.Subject.Certificate(ctx)
	if err != nil {
		return nil, fmt.Errorf("client: subject certificate: %w", err)
	}
	msg.SubjectCertificate = cert
	body, err := chain.EncodeBody(&chainpb.TxBody{ChainId: chainID, Msg: &chainpb.TxBody_RevokeAttestation{RevokeAttestation: msg}})
	if err != nil {
		return nil, err
	}
	if err := checkForm(body, chainID, false, 512); err != nil {
		return nil, err
	}
	res, err := c.submitSubjectSigned(ctx, req.Subject, body, nil)
	if err != nil {
		return nil, err
	}
	return &RevokeResult{ID: req.ID, Height: res.Height, TxHash: res.Hash, By: chain.BySubject}, nil
}

// SubjectOf returns the identity commitment of a DER certificate.
func SubjectOf(certDER []byte) ([]byte, error) {
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("client: certificate: %w", err)
	}
	s := jpki.Commitment(cert.RawIssuer, cert.SerialNumber)
	return s[:], nil
}

// RevokeSubjectsResult is one committed RevokeSubjects transaction.
type RevokeSubjectsResult struct {
	MemberTxResult
	// Revoked counts the commitments this transaction revoked;
	// AlreadyRevoked those the chain had revoked before (and skipped).
	Revoked, AlreadyRevoked int
}

// RevokeSubjects submits one RevokeSubjects transaction: commitments (at
// most the chain's max_revocations_per_tx, none twice), a reason, and the
// time the revocations took effect (not after the block time). See
// RevokeSubjectsBatched for any number of commitments.
func (c *Client) RevokeSubjects(ctx context.Context, auth MemberAuth, commitments [][]byte, reason string, effective int64) (*RevokeSubjectsResult, error) {
	r, err := c.SubmitMemberTx(ctx, auth, &chainpb.TxBody{Msg: &chainpb.TxBody_RevokeSubjects{RevokeSubjects: &chainpb.RevokeSubjects{
		Commitments: commitments, Reason: reason, EffectiveTime: effective,
	}}})
	if err != nil {
		return nil, err
	}
	out := &RevokeSubjectsResult{MemberTxResult: *r}
	out.Revoked, _ = strconv.Atoi(eventAttr(r.Events, "revoke_subjects", "revoked"))
	out.AlreadyRevoked, _ = strconv.Atoi(eventAttr(r.Events, "revoke_subjects", "already_revoked"))
	return out, nil
}
