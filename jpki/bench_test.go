package jpki_test

import (
	"testing"

	"github.com/idledger/idledger/jpki"
)

// BenchmarkCheck is the full per-transaction certificate cost without a
// cache: parse, profile, key, and the issuer's RSA signature.
func BenchmarkCheck(b *testing.B) {
	f := getFixture(b)
	opts := jpki.CheckOptions{Anchors: f.anchors}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jpki.Check(f.good.CertDER, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySignature(b *testing.B) {
	f := getFixture(b)
	msg := []byte("idledger/bench sign bytes")
	sig := signDigestInfo(b, f.holderKey, jpki.DigestInfo(msg))
	b.ReportAllocs()
	for b.Loop() {
		if err := jpki.VerifySignature(&f.holderKey.PublicKey, msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCommitment(b *testing.B) {
	f := getFixture(b)
	c := f.good.Cert
	b.ReportAllocs()
	for b.Loop() {
		jpki.Commitment(c.RawIssuer, c.SerialNumber)
	}
}
