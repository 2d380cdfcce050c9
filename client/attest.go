package client

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/signer"
)

// DefaultAttestationLifetime is the lifetime of an attestation whose
// not-after is not given: it is then clipped to the certificate's expiry.
const DefaultAttestationLifetime = 30 * 24 * time.Hour

// AttestRequest is an attestation to make.
type AttestRequest struct {
	// Signer is the subject's JPKI key (a software key or a card plugin).
	Signer signer.Signer
	// MemberID is the attester; "" means the member whose registered key is
	// MemberKey.
	MemberID  string
	MemberKey ed25519.PrivateKey
	// ClaimType names the claim (1-64 of a-z 0-9 . _ -); ClaimHash is the
	// SHA-256 of its off-chain content.
	ClaimType string
	ClaimHash []byte
	// NotAfter is when the attestation lapses; zero means now +
	// DefaultAttestationLifetime, clipped to the certificate's expiry.
	NotAfter time.Time
	// ChainID to sign for; "" means the node's.
	ChainID string
}

// AttestResult is a committed attestation.
type AttestResult struct {
	ID        []byte
	Height    int64
	TxHash    []byte
	Subject   []byte // the certificate's identity commitment
	ClaimType string
	NotAfter  time.Time
	Attester  string
	Sequence  uint64
}

// Attest builds an Attest transaction, has the subject sign it with its
// JPKI key and the attester with its member key, submits it and waits for
// its commit. Refusals are *TxError.
func (c *Client) Attest(ctx context.Context, req AttestRequest) (*AttestResult, error) {
	if req.Signer == nil {
		return nil, errors.New("client: attest: no subject signer")
	}
	if len(req.MemberKey) != ed25519.PrivateKeySize {
		return nil, errors.New("client: attest: no member key")
	}
	// Everything that can be checked is checked before the holder's signer
	// is asked for anything: a card or phone may want its PIN even to hand
	// out its certificate.
	if len(req.ClaimHash) != sha256.Size {
		return nil, fmt.Errorf("client: attest: the claim hash is %d bytes, want %d (SHA-256)", len(req.ClaimHash), sha256.Size)
	}
	if !chain.ValidClaimType(req.ClaimType) {
		return nil, fmt.Errorf("client: attest: claim type %q: want 1-%d characters of a-z 0-9 . _ -", req.ClaimType, chain.MaxClaimTypeLen)
	}
	if !req.NotAfter.IsZero() && !req.NotAfter.After(c.opts.now()) {
		return nil, fmt.Errorf("client: attest: not-after %s is not in the future", req.NotAfter.Format(time.RFC3339))
	}
	chainID, err := c.chainIDOr(ctx, req.ChainID)
	if err != nil {
		return nil, err
	}
	mem, err := c.resolveMember(ctx, MemberAuth{ID: req.MemberID, Key: req.MemberKey})
	if err != nil {
		return nil, err
	}
	if err := checkBody(chainID, true, 256, &chainpb.TxBody{ChainId: chainID, Signer: mem.Id, Sequence: mem.Sequence,
		Msg: &chainpb.TxBody_Attest{Attest: &chainpb.Attest{AuthCertificate: []byte{0}, ClaimType: req.ClaimType, ClaimHash: req.ClaimHash, NotAfter: req.NotAfter.Unix()}}}); err != nil {
		return nil, err
	}

	certDER, err := req.Signer.Certificate(ctx)
	if err != nil {
		return nil, fmt.Errorf("client: subject certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("client: subject certificate: %w", err)
	}
	notAfter := req.NotAfter
	if notAfter.IsZero() {
		notAfter = c.opts.now().Add(DefaultAttestationLifetime)
		if cert.NotAfter.Before(notAfter) {
			notAfter = cert.NotAfter
		}
	}
	body, err := chain.EncodeBody(&chainpb.TxBody{
		ChainId:  chainID,
		Signer:   mem.Id,
		Sequence: mem.Sequence,
		Msg: &chainpb.TxBody_Attest{Attest: &chainpb.Attest{
			AuthCertificate: certDER,
			ClaimType:       req.ClaimType,
			ClaimHash:       req.ClaimHash,
			NotAfter:        notAfter.Unix(),
		}},
	})
	if err != nil {
		return nil, err
	}
	if err := checkForm(body, chainID, true, rsaSigLen(cert)); err != nil {
		return nil, err
	}
	if err := c.precheckCert(ctx, certDER, cert); err != nil {
		return nil, err
	}
	res, err := c.submitSubjectSigned(ctx, req.Signer, body, req.MemberKey)
	if err != nil {
		return nil, err
	}
	idHex := eventAttr(res.Events, "attest", "id")
	id, err := hex.DecodeString(idHex)
	if err != nil || len(id) != chain.AttestationIDLen {
		return nil, fmt.Errorf("client: transaction %X committed at height %d without an attestation ID in its events", res.Hash, res.Height)
	}
	subject := jpki.Commitment(cert.RawIssuer, cert.SerialNumber)
	return &AttestResult{
		ID:        id,
		Height:    res.Height,
		TxHash:    res.Hash,
		Subject:   subject[:],
		ClaimType: req.ClaimType,
		NotAfter:  time.Unix(notAfter.Unix(), 0).UTC(),
		Attester:  mem.Id,
		Sequence:  mem.Sequence,
	}, nil
}
