package testca_test

import (
	"bytes"
	"crypto"
	"io"
	"strings"
	"testing"

	"github.com/idledger/idledger/internal/fastrsa"
	"github.com/idledger/idledger/testca"
)

// counter is a deterministic "random" source: two CAs made from two equal
// counters draw the same tags and serials.
type counter struct{ n byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		c.n++
		p[i] = c.n
	}
	return len(p), nil
}

// countingSigner counts the signatures it makes.
type countingSigner struct {
	crypto.Signer
	calls int
}

func (s *countingSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	s.calls++
	return s.Signer.Sign(r, d, o)
}

// A CA's Signer signs the holder certificates in place of its Key, and the
// certificates are the very bytes the Key makes; a signer of another key
// is refused.
func TestIssueWithSigner(t *testing.T) {
	caKey, err := fastrsa.GenerateKey(8)
	if err != nil {
		t.Fatal(err)
	}
	holderKey := testKeys(t)[0]
	newCA := func() *testca.CA {
		ca, err := testca.New(testca.InitOptions{Now: now, Key: caKey, Rand: &counter{}})
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	plain, fast := newCA(), newCA()
	fs, err := fastrsa.New(caKey)
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingSigner{Signer: fs}
	fast.Signer = cs
	opts := testca.IssueOptions{Name: "alice", Now: now, Key: holderKey}
	want, err := plain.Issue(opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fast.Issue(opts)
	if err != nil {
		t.Fatal(err)
	}
	if cs.calls != 1 {
		t.Errorf("the CA's Signer made %d signatures, want 1", cs.calls)
	}
	if !bytes.Equal(got.CertDER, want.CertDER) {
		t.Error("the certificate signed by the CA's Signer differs from the one its Key signs")
	}
	if err := got.Cert.CheckSignatureFrom(fast.Cert); err != nil {
		t.Errorf("the certificate does not chain to the CA: %v", err)
	}

	other, err := fastrsa.New(testKeys(t)[1])
	if err != nil {
		t.Fatal(err)
	}
	fast.Signer = other
	if _, err := fast.Issue(testca.IssueOptions{Name: "bob", Now: now, Key: holderKey}); err == nil || !strings.Contains(err.Error(), "testca:") {
		t.Errorf("a Signer of another key: %v, want a testca error", err)
	}
}
