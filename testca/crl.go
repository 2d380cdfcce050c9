package testca

import (
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"math/big"
	"time"
)

// Revoke marks the certificate of holder name as revoked at t (zero: now).
// Revoking twice is an error, so a typo is noticed.
func (ca *CA) Revoke(name string, t time.Time) error {
	if t.IsZero() {
		t = time.Now()
	}
	t = t.UTC().Truncate(time.Second)
	for i := range ca.index.Issued {
		e := &ca.index.Issued[i]
		if e.Name != name {
			continue
		}
		if e.RevokedAt != nil {
			return fmt.Errorf("testca: %s is already revoked (at %s)", name, e.RevokedAt.Format(time.RFC3339))
		}
		e.RevokedAt = &t
		return ca.saveIndex()
	}
	return fmt.Errorf("testca: no holder %q issued by this CA", name)
}

// CRL returns a new DER CRL of every revoked certificate, as J-LIS
// publishes them (a test CA's, of course), valid from now for a day, with
// the next CRL number.
func (ca *CA) CRL(now time.Time) ([]byte, error) {
	if now.IsZero() {
		now = time.Now()
	}
	var entries []x509.RevocationListEntry
	for _, e := range ca.index.Issued {
		if e.RevokedAt == nil {
			continue
		}
		serial, ok := new(big.Int).SetString(e.Serial, 16)
		if !ok {
			return nil, fmt.Errorf("testca: index has a bad serial %q", e.Serial)
		}
		entries = append(entries, x509.RevocationListEntry{SerialNumber: serial, RevocationTime: *e.RevokedAt})
	}
	ca.index.CRLNumber++
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(ca.index.CRLNumber),
		ThisUpdate:                now.UTC(),
		NextUpdate:                now.UTC().Add(24 * time.Hour),
		RevokedCertificateEntries: entries,
		SignatureAlgorithm:        x509.SHA256WithRSA,
	}, ca.Cert, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("testca: make CRL: %w", err)
	}
	if err := ca.saveIndex(); err != nil {
		return nil, err
	}
	return der, nil
}
