package chain_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
	"github.com/idledger/idledger/jpki"
)

func TestDecodeAnchorSet(t *testing.T) {
	w := world(t)
	enc := func(certs ...[]byte) []byte {
		set := new(chainpb.AnchorSet)
		for _, c := range certs {
			set.Anchors = append(set.Anchors, &chainpb.TrustAnchor{Certificate: c})
		}
		b, err := proto.Marshal(set)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	got, err := chain.DecodeAnchorSet(enc(w.AuthCA.CertDER, w.SignCA.CertDER))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Equal(got[0].Raw, w.AuthCA.CertDER) || got[0].Kind != jpki.KindAuth ||
		!bytes.Equal(got[1].Raw, w.SignCA.CertDER) || got[1].Kind != jpki.KindSign {
		t.Fatalf("decoded %+v, want the auth CA then the signing CA", got)
	}
	if got, err := chain.DecodeAnchorSet(nil); err != nil || len(got) != 0 {
		t.Errorf("empty value: %v, %v; want an empty set", got, err)
	}
	for name, v := range map[string][]byte{
		"not a set":         {0xff, 0xff, 0xff},
		"not a CA":          enc(w.AuthCA.CertDER, w.Holders[fixture.Alice].CertDER),
		"not a certificate": enc([]byte("junk")),
	} {
		if _, err := chain.DecodeAnchorSet(v); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// FuzzDecodeAnchorSet: never a panic; what decodes re-encodes to anchors
// that parse.
func FuzzDecodeAnchorSet(f *testing.F) {
	w := world(f)
	b, err := proto.Marshal(&chainpb.AnchorSet{Anchors: []*chainpb.TrustAnchor{{Certificate: w.AuthCA.CertDER, Kind: "auth"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, v []byte) {
		as, err := chain.DecodeAnchorSet(v)
		if err != nil {
			return
		}
		for _, a := range as {
			if _, err := jpki.ParseAnchor(a.Raw); err != nil {
				t.Fatalf("a decoded anchor does not parse again: %v", err)
			}
		}
	})
}

// bigAnchor is a self-signed JPKI auth test CA certificate of more than
// jpki.MaxCertificateSize bytes (a padding extension) and at most
// jpki.MaxAnchorSize, as genesis and add_anchor have always admitted.
func bigAnchor(t *testing.T) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(7),
		Subject:               pkix.Name{Country: []string{"JP"}, OrganizationalUnit: []string{jpki.OUAuth + jpki.TestSuffix}, CommonName: "big test CA"},
		NotBefore:             fixture.Now.AddDate(-1, 0, 0),
		NotAfter:              fixture.Now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SignatureAlgorithm:    x509.SHA256WithRSA,
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Value: make([]byte, 4000)}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(der) <= jpki.MaxCertificateSize || len(der) > jpki.MaxAnchorSize {
		t.Fatalf("the big anchor is %d bytes, want more than %d and at most %d", len(der), jpki.MaxCertificateSize, jpki.MaxAnchorSize)
	}
	return der
}

// TestStoredAnchorOverTheCertificateLimitDecodes: trust anchors up to
// jpki.MaxAnchorSize, more than a holder certificate may be, are in the
// state of existing chains, and the stored set must decode:
// Machine.anchors panics on a set that does not, so every node would panic
// on the first proposal (a chain halt).
func TestStoredAnchorOverTheCertificateLimitDecodes(t *testing.T) {
	w := world(t)
	big := bigAnchor(t)
	if _, err := jpki.ParseAnchor(big); err != nil {
		t.Fatalf("an anchor of %d bytes, under MaxAnchorSize: %v", len(big), err)
	}
	raw, err := proto.Marshal(&chainpb.AnchorSet{Anchors: []*chainpb.TrustAnchor{
		{Certificate: w.AuthCA.CertDER, Kind: "auth"}, {Certificate: big, Kind: "auth"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := chain.DecodeAnchorSet(raw)
	if err != nil {
		t.Fatalf("a stored anchor set with a %d-byte anchor: %v", len(big), err)
	}
	if len(got) != 2 || !bytes.Equal(got[1].Raw, big) {
		t.Fatalf("decoded %d anchors, want both", len(got))
	}

	// The state machine reads it: an attestation still verifies.
	m := chain.NewMachine(100)
	st := newState(t, w, nil)
	st.Set(chain.AnchorsKey(), raw)
	tx, err := w.AttestTx(fixture.Attest{Sequence: 0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deliver(t, m, st, tx); err != nil {
		t.Fatalf("an attestation on a chain holding the big anchor: %v", err)
	}
}

// TestAddAnchorAsReleased: an add_anchor of a 4-8 KiB anchor executes, as
// under every earlier release (their limit was 8 KiB). Refusing it would
// make a node that replays a chain holding such a block (blocksync from
// genesis, a new validator) compute another app hash and halt.
func TestAddAnchorAsReleased(t *testing.T) {
	w := world(t)
	st, m := govState(t, w)
	add := &chainpb.GovAction{Action: &chainpb.GovAction_AddAnchor{AddAnchor: &chainpb.TrustAnchor{Kind: "auth", Certificate: bigAnchor(t)}}}
	mustDeliver(t, m, st, sign(t, w, propose(add, 0), fixture.Operator, ""))
	mustDeliver(t, m, st, sign(t, w, vote(1, 0), fixture.Reader, ""))
	if p := chain.GetProposal(st, 1); p.Status != chain.ProposalExecuted {
		t.Fatalf("add_anchor of a %d-byte anchor: %s %s (the previous release executed it)", len(bigAnchor(t)), p.Status, p.Result)
	}
}
