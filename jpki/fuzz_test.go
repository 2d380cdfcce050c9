package jpki_test

import (
	"crypto/x509"
	"errors"
	"testing"

	"github.com/idledger/idledger/jpki"
)

func FuzzCheck(f *testing.F) {
	fx := getFixture(f)
	for _, der := range [][]byte{fx.good.CertDER, fx.signing.CertDER, fx.weak.CertDER, fx.sha1.CertDER, fx.authCA.CertDER, {0x30, 0x03, 0x02, 0x01, 0x01}} {
		f.Add(der, false)
	}
	f.Add(fx.signing.CertDER, true)
	f.Fuzz(func(t *testing.T, der []byte, allowSigning bool) {
		c, err := jpki.Check(der, jpki.CheckOptions{Anchors: fx.anchors, AllowSigning: allowSigning})
		if err != nil {
			var je *jpki.Error
			if !errors.As(err, &je) || je.Reason == 0 {
				t.Fatalf("error %v is not a *jpki.Error with a reason", err)
			}
			return
		}
		if c.Kind != jpki.KindAuth && !(allowSigning && c.Kind == jpki.KindSign) {
			t.Fatalf("accepted a certificate of kind %v", c.Kind)
		}
		_ = c.ValidAt(now)
	})
}

func FuzzClassify(f *testing.F) {
	fx := getFixture(f)
	for _, der := range [][]byte{fx.good.CertDER, fx.signing.CertDER, fx.authCA.CertDER} {
		f.Add(der)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return
		}
		switch k := jpki.Classify(c); k {
		case jpki.KindUnknown, jpki.KindAuth, jpki.KindSign:
		default:
			t.Fatalf("Classify = %d", k)
		}
		_, _ = jpki.ParseAnchor(der)
	})
}
