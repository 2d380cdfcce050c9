package jpki_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/idledger/idledger/testca"
)

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

func sha256Slice(b []byte) []byte { h := sha256.Sum256(b); return h[:] }

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pemOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// signDigestInfo signs as the card does: the DigestInfo as-is.
func signDigestInfo(tb testing.TB, key *rsa.PrivateKey, di []byte) []byte {
	tb.Helper()
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.Hash(0), di)
	if err != nil {
		tb.Fatal(err)
	}
	return sig
}

func testIssue(name string, f *fixture, notAfter time.Time) testca.IssueOptions {
	return testca.IssueOptions{Name: name, Now: now, NotAfter: notAfter, Key: f.holderKey}
}
