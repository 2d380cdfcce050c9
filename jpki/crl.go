package jpki

import (
	"crypto/x509"
	"time"
)

// RevokedSubject is one entry of a CRL turned into what the ledger may hold:
// the identity commitment, and when the certificate was revoked.
type RevokedSubject struct {
	Commitment [32]byte
	RevokedAt  time.Time
}

// CRLCommitments checks a DER CRL's signature against its issuer (a CA
// certificate) and returns the identity commitment of every listed
// certificate. J-LIS revocation data may only be used by the party that
// received it: callers put the commitments on the ledger, never the CRL.
func CRLCommitments(crlDER []byte, issuer *x509.Certificate) ([]RevokedSubject, error) {
	crl, err := x509.ParseRevocationList(crlDER)
	if err != nil {
		return nil, errorf(ReasonMalformed, "not a DER CRL: %v", err)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, errorf(ReasonBadCertSignature, "the CRL is not signed by %s: %v", issuer.Subject, err)
	}
	out := make([]RevokedSubject, 0, len(crl.RevokedCertificateEntries))
	for i, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber == nil || e.SerialNumber.Sign() <= 0 {
			return nil, errorf(ReasonMalformed, "CRL entry %d has no positive serial", i)
		}
		out = append(out, RevokedSubject{Commitment: Commitment(crl.RawIssuer, e.SerialNumber), RevokedAt: e.RevocationTime.UTC()})
	}
	return out, nil
}
