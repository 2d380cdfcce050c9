package testca_test

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/testca"
)

// TestCRLCommitments: a revoker turns the test CA's CRL into identity
// commitments equal to those of the revoked holders' certificates, after
// checking the CRL's signature; the CRL survives a reload of the CA.
func TestCRLCommitments(t *testing.T) {
	k := testKeys(t)
	dir := filepath.Join(t.TempDir(), "ca")
	ca, err := testca.Init(dir, testca.InitOptions{Now: now, Key: k[0]})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ca.Issue(testca.IssueOptions{Name: "a", Now: now, Key: k[1]})
	b, _ := ca.Issue(testca.IssueOptions{Name: "b", Now: now, Key: k[2]})
	if err := ca.Revoke("a", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke("a", now); err == nil {
		t.Fatal("revoked twice")
	}
	if err := ca.Revoke("nobody", now); err == nil {
		t.Fatal("revoked an unknown holder")
	}
	reloaded, err := testca.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := reloaded.CRL(now.Add(2 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got, err := jpki.CRLCommitments(crl, ca.Cert)
	if err != nil {
		t.Fatal(err)
	}
	want := jpki.Commitment(a.Cert.RawIssuer, a.Cert.SerialNumber)
	if len(got) != 1 || got[0].Commitment != want || !got[0].RevokedAt.Equal(now.Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("commitments %x, want only a's %x", got, want)
	}
	if c := jpki.Commitment(b.Cert.RawIssuer, b.Cert.SerialNumber); bytes.Equal(c[:], got[0].Commitment[:]) {
		t.Fatal("b listed")
	}
	// A CRL checked against another CA is refused.
	other, _ := testca.New(testca.InitOptions{Now: now, Key: k[1]})
	if _, err := jpki.CRLCommitments(crl, other.Cert); jpki.ReasonOf(err) != jpki.ReasonBadCertSignature {
		t.Fatalf("foreign CRL: %v", err)
	}
	crl[len(crl)-1] ^= 1
	if _, err := jpki.CRLCommitments(crl, ca.Cert); err == nil {
		t.Fatal("tampered CRL accepted")
	}
}
