package jpki_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idledger/idledger/jpki"
)

func reasonOf(t *testing.T, err error) jpki.Reason {
	t.Helper()
	var je *jpki.Error
	if !errors.As(err, &je) {
		t.Fatalf("error %v (%T) is not a *jpki.Error", err, err)
	}
	if !strings.HasPrefix(err.Error(), "jpki: ") {
		t.Errorf("error %q lacks the jpki: prefix", err)
	}
	return je.Reason
}

func TestCheck(t *testing.T) {
	f := getFixture(t)
	tampered := bytes.Clone(f.good.CertDER)
	tampered[len(tampered)-1] ^= 0x01 // last byte of the issuer's signature

	tests := []struct {
		name         string
		der          []byte
		anchors      []*jpki.Anchor
		allowSigning bool
		at           time.Time
		want         jpki.Reason // 0: accepted
		wantKind     jpki.Kind
		wantDetail   string
	}{
		{name: "good", der: f.good.CertDER, wantKind: jpki.KindAuth},
		{name: "valid from first second", der: f.good.CertDER, at: f.good.Cert.NotBefore, wantKind: jpki.KindAuth},
		{name: "valid to last second", der: f.good.CertDER, at: f.good.Cert.NotAfter, wantKind: jpki.KindAuth},
		{name: "expired", der: f.expired.CertDER, want: jpki.ReasonExpired,
			wantDetail: "certificate expired at 2025-03-01T00:00:00Z"},
		{name: "one second after not-after", der: f.good.CertDER, at: f.good.Cert.NotAfter.Add(time.Second), want: jpki.ReasonExpired},
		{name: "not yet valid", der: f.future.CertDER, want: jpki.ReasonNotYetValid,
			wantDetail: "certificate is not valid before 2026-04-01T00:00:00Z"},
		{name: "issuing CA expired", der: f.good.CertDER, at: f.authCA.Cert.NotAfter.Add(time.Second),
			want: jpki.ReasonExpired, wantDetail: "certificate expired at"}, // the card expires first
		{name: "unknown issuer", der: f.unknownIssuer.CertDER, want: jpki.ReasonUnknownIssuer},
		{name: "no anchors", der: f.good.CertDER, anchors: []*jpki.Anchor{}, want: jpki.ReasonUnknownIssuer},
		{name: "wrong anchor kind", der: f.wrongKind.CertDER, want: jpki.ReasonWrongAnchorKind},
		{name: "signing certificate refused", der: f.signing.CertDER, want: jpki.ReasonSigningCertificate},
		{name: "signing certificate allowed", der: f.signing.CertDER, allowSigning: true, wantKind: jpki.KindSign},
		{name: "signing certificate from auth CA", der: f.signingByAuthCA.CertDER, allowSigning: true, want: jpki.ReasonWrongAnchorKind},
		{name: "RSA-1024", der: f.weak.CertDER, want: jpki.ReasonWeakKey},
		{name: "SHA-1 signed", der: f.sha1.CertDER, want: jpki.ReasonBadAlgorithm},
		{name: "tampered certificate signature", der: tampered, want: jpki.ReasonBadCertSignature},
		{name: "same issuer name, other key", der: f.byTwin.CertDER, want: jpki.ReasonBadCertSignature},
		{name: "renewed anchor with the same name", der: f.byTwin.CertDER,
			anchors: []*jpki.Anchor{f.authAnchor, f.twinAnchor}, wantKind: jpki.KindAuth},
		{name: "garbage", der: []byte("not a certificate at all"), want: jpki.ReasonMalformed},
		{name: "empty", der: nil, want: jpki.ReasonMalformed},
		{name: "too large", der: make([]byte, jpki.MaxCertificateSize+1), want: jpki.ReasonMalformed},
		{name: "CA certificate as subject", der: f.authCA.CertDER, want: jpki.ReasonNotAuthProfile},
		{name: "trailing bytes", der: append(bytes.Clone(f.good.CertDER), 0x00), want: jpki.ReasonMalformed},
		{name: "truncated", der: f.good.CertDER[:len(f.good.CertDER)-1], want: jpki.ReasonMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			anchors := tc.anchors
			if anchors == nil {
				anchors = f.anchors
			}
			at := tc.at
			if at.IsZero() {
				at = now
			}
			c, err := jpki.Check(tc.der, jpki.CheckOptions{Anchors: anchors, AllowSigning: tc.allowSigning})
			if err == nil {
				err = c.ValidAt(at)
			}
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.Kind != tc.wantKind {
					t.Errorf("Kind = %v, want %v", c.Kind, tc.wantKind)
				}
				if want := jpki.Commitment(c.X509.RawIssuer, c.X509.SerialNumber); c.Commitment != want {
					t.Errorf("Commitment = %x, want %x", c.Commitment, want)
				}
				if !bytes.Equal(c.Raw, tc.der) || c.PublicKey == nil || !c.PublicKey.Equal(c.X509.PublicKey) {
					t.Errorf("Raw or PublicKey do not match the certificate")
				}
				if !c.NotBefore.Equal(c.X509.NotBefore) || !c.NotAfter.Equal(c.X509.NotAfter) {
					t.Errorf("validity %v..%v, want %v..%v", c.NotBefore, c.NotAfter, c.X509.NotBefore, c.X509.NotAfter)
				}
				found := false
				for _, a := range anchors {
					if a.ID == c.AnchorID {
						found = a.Kind == c.Kind && bytes.Equal(a.Cert.RawSubject, c.X509.RawIssuer)
					}
				}
				if !found {
					t.Errorf("AnchorID %x is not a matching anchor", c.AnchorID)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %v", tc.want)
			}
			if got := reasonOf(t, err); got != tc.want {
				t.Fatalf("reason %v (%v), want %v", got, err, tc.want)
			}
			if tc.wantDetail != "" && !strings.Contains(err.Error(), tc.wantDetail) {
				t.Errorf("error %q does not contain %q", err, tc.wantDetail)
			}
		})
	}
}

func TestValidAtAnchorWindow(t *testing.T) {
	f := getFixture(t)
	// A card valid beyond its CA: the CA's expiry decides.
	h, err := f.authCA.Issue(testIssue("outlives-ca", f, f.authCA.Cert.NotAfter.AddDate(1, 0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := jpki.Check(h.CertDER, jpki.CheckOptions{Anchors: f.anchors})
	if err != nil {
		t.Fatal(err)
	}
	err = c.ValidAt(f.authCA.Cert.NotAfter.Add(time.Hour))
	if reasonOf(t, err) != jpki.ReasonExpired || !strings.Contains(err.Error(), "issuing CA certificate expired at") {
		t.Fatalf("got %v, want the CA's expiry", err)
	}
}

func TestCommitment(t *testing.T) {
	f := getFixture(t)
	c := f.good.Cert
	// Written out from the definition: domain || issuer DN || minimal serial.
	msg := append([]byte("idledger/subject/v1"), c.RawIssuer...)
	msg = append(msg, c.SerialNumber.Bytes()...)
	if got, want := jpki.Commitment(c.RawIssuer, c.SerialNumber), sha256Sum(msg); got != want {
		t.Fatalf("Commitment = %x, want %x", got, want)
	}
	if jpki.Commitment(c.RawIssuer, c.SerialNumber) == jpki.Commitment(f.expired.Cert.RawIssuer, f.expired.Cert.SerialNumber) {
		t.Fatal("two certificates share a commitment")
	}
}

func TestSignature(t *testing.T) {
	f := getFixture(t)
	msg := []byte("idledger/test sign bytes")
	di := jpki.DigestInfo(msg)
	if len(di) != jpki.DigestInfoSize {
		t.Fatalf("DigestInfo is %d bytes", len(di))
	}
	if d, err := jpki.ParseDigestInfo(di); err != nil || !bytes.Equal(d, sha256Slice(msg)) {
		t.Fatalf("ParseDigestInfo = %x, %v", d, err)
	}
	for _, bad := range [][]byte{nil, di[:50], append(bytes.Clone(di), 0), sha256Slice(msg)} {
		if _, err := jpki.ParseDigestInfo(bad); reasonOf(t, err) != jpki.ReasonMalformed {
			t.Errorf("ParseDigestInfo(%x) = %v", bad, err)
		}
	}
	sig := signDigestInfo(t, f.holderKey, di)
	pub := &f.holderKey.PublicKey
	if err := jpki.VerifySignature(pub, msg, sig); err != nil {
		t.Fatalf("good signature refused: %v", err)
	}
	tamperedSig := bytes.Clone(sig)
	tamperedSig[10] ^= 0x80
	cases := map[string]error{
		"tampered message":   jpki.VerifySignature(pub, append(bytes.Clone(msg), '!'), sig),
		"tampered signature": jpki.VerifySignature(pub, msg, tamperedSig),
		"short signature":    jpki.VerifySignature(pub, msg, sig[1:]),
		"no key":             jpki.VerifySignature(nil, msg, sig),
		"other key":          jpki.VerifySignature(&f.authCA.Key.PublicKey, msg, sig),
	}
	for name, err := range cases {
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if r := reasonOf(t, err); r != jpki.ReasonBadSignature {
			t.Errorf("%s: reason %v", name, r)
		}
	}
}

func TestReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for r := jpki.ReasonMalformed; r <= jpki.ReasonBadAnchor; r++ {
		s := r.String()
		if s == "" || strings.HasPrefix(s, "reason(") || seen[s] || strings.ToLower(s) != s || strings.Contains(s, " ") {
			t.Errorf("Reason(%d).String() = %q", r, s)
		}
		seen[s] = true
	}
	// The numbers are protocol: pin them.
	pinned := map[jpki.Reason]uint8{
		jpki.ReasonMalformed: 1, jpki.ReasonExpired: 2, jpki.ReasonNotYetValid: 3, jpki.ReasonUnknownIssuer: 4,
		jpki.ReasonWrongAnchorKind: 5, jpki.ReasonSigningCertificate: 6, jpki.ReasonNotAuthProfile: 7,
		jpki.ReasonWeakKey: 8, jpki.ReasonBadAlgorithm: 9, jpki.ReasonBadCertSignature: 10,
		jpki.ReasonBadSignature: 11, jpki.ReasonBadAnchor: 12,
	}
	for r, n := range pinned {
		if uint8(r) != n {
			t.Errorf("%v = %d, want %d", r, r, n)
		}
	}
	if jpki.ReasonExpired.String() != "expired" || jpki.ReasonUnknownIssuer.String() != "unknown_issuer" {
		t.Error("reason names changed")
	}
	if s := jpki.Reason(200).String(); s != "reason(200)" {
		t.Errorf("unknown reason = %q", s)
	}
}

func TestKind(t *testing.T) {
	for _, k := range []jpki.Kind{jpki.KindAuth, jpki.KindSign} {
		got, err := jpki.ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	for _, s := range []string{"", "unknown", "AUTH", "signing"} {
		if _, err := jpki.ParseKind(s); err == nil {
			t.Errorf("ParseKind(%q) accepted", s)
		}
	}
	if jpki.KindUnknown.String() != "unknown" || jpki.Kind(9).String() != "unknown" {
		t.Error("unknown kind name")
	}
}

func TestClassify(t *testing.T) {
	f := getFixture(t)
	tests := []struct {
		name string
		h    []byte
		want jpki.Kind
	}{
		{"auth", f.good.CertDER, jpki.KindAuth},
		{"sign", f.signing.CertDER, jpki.KindSign},
		{"CA", f.authCA.CertDER, jpki.KindUnknown},
	}
	for _, tc := range tests {
		c := mustParse(t, tc.h)
		if got := jpki.Classify(c); got != tc.want {
			t.Errorf("%s: Classify = %v, want %v", tc.name, got, tc.want)
		}
	}
	// Personal data alone makes a certificate a signing one, whatever its
	// policy says.
	c := mustParse(t, f.signing.CertDER)
	c.Policies = nil
	c.PolicyIdentifiers = nil
	if got := jpki.Classify(c); got != jpki.KindSign {
		t.Errorf("SAN only: Classify = %v, want sign", got)
	}
	if jpki.Classify(nil) != jpki.KindUnknown {
		t.Error("Classify(nil)")
	}
}

func TestAnchors(t *testing.T) {
	f := getFixture(t)
	if f.authAnchor.Kind != jpki.KindAuth || !f.authAnchor.Test || f.signAnchor.Kind != jpki.KindSign || !f.signAnchor.Test {
		t.Fatalf("test CAs classify as %v/%v, %v/%v", f.authAnchor.Kind, f.authAnchor.Test, f.signAnchor.Kind, f.signAnchor.Test)
	}
	if f.authAnchor.ID != sha256Sum(f.authCA.CertDER) || jpki.KnownAnchorName(f.authAnchor.ID) != "" {
		t.Error("test anchor ID or name")
	}
	pemBytes := append(f.authCA.CertPEM(), f.signCA.CertPEM()...)
	as, err := jpki.ParseAnchorsPEM(pemBytes)
	if err != nil || len(as) != 2 || as[0].Kind != jpki.KindAuth || as[1].Kind != jpki.KindSign {
		t.Fatalf("ParseAnchorsPEM = %v, %v", as, err)
	}
	bad := map[string]struct {
		pem  []byte
		want jpki.Reason
	}{
		"empty":     {nil, jpki.ReasonMalformed},
		"duplicate": {append(f.authCA.CertPEM(), f.authCA.CertPEM()...), jpki.ReasonBadAnchor},
		"not a CA":  {pemOf(f.good.CertDER), jpki.ReasonBadAnchor},
		"trailing":  {append(f.authCA.CertPEM(), "junk"...), jpki.ReasonMalformed},
		"other PEM": {[]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), jpki.ReasonMalformed},
	}
	for name, tc := range bad {
		_, err := jpki.ParseAnchorsPEM(tc.pem)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if r := reasonOf(t, err); r != tc.want {
			t.Errorf("%s: reason %v (%v), want %v", name, r, err, tc.want)
		}
	}
	if _, err := jpki.ParseAnchor([]byte{0x30, 0x00}); reasonOf(t, err) != jpki.ReasonMalformed {
		t.Errorf("ParseAnchor(garbage) = %v", err)
	}
}

// TestRealRoots proves the J-LIS 2023 roots classify. The PEM files are not
// part of the project: they are read from the shared directory beside the
// repository.
func TestRealRoots(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "jpki-roots")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("J-LIS roots not available (%v); get them from https://www.jpki.go.jp/ca/ca_rules3.html", err)
	}
	for _, tc := range []struct {
		file string
		kind jpki.Kind
		id   [32]byte
	}{
		{"auth_ca_2023.pem", jpki.KindAuth, jpki.AuthCA2023ID},
		{"sign_ca_2023.pem", jpki.KindSign, jpki.SignCA2023ID},
	} {
		data, err := os.ReadFile(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		as, err := jpki.ParseAnchorsPEM(data)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		a := as[0]
		if len(as) != 1 || a.Kind != tc.kind || a.Test || a.ID != tc.id || jpki.KnownAnchorName(a.ID) == "" {
			t.Errorf("%s: %d anchors, kind %v, test %v, id %x, name %q", tc.file, len(as), a.Kind, a.Test, a.ID, jpki.KnownAnchorName(a.ID))
		}
		// A real root is not a subject certificate.
		if _, err := jpki.Check(a.Raw, jpki.CheckOptions{Anchors: as}); reasonOf(t, err) != jpki.ReasonNotAuthProfile {
			t.Errorf("%s as subject: %v", tc.file, err)
		}
	}
}

func TestCheckCopiesInput(t *testing.T) {
	f := getFixture(t)
	buf := bytes.Clone(f.good.CertDER)
	c, err := jpki.Check(buf, jpki.CheckOptions{Anchors: f.anchors})
	if err != nil {
		t.Fatal(err)
	}
	clear(buf)
	if !bytes.Equal(c.Raw, f.good.CertDER) || c.X509.Subject.CommonName != "good" {
		t.Fatal("Certificate aliases the caller's buffer")
	}
	wrapped := fmt.Errorf("app: %w", func() error { _, err := jpki.Check(nil, jpki.CheckOptions{}); return err }())
	if jpki.ReasonOf(wrapped) != jpki.ReasonMalformed || jpki.ReasonOf(errors.New("x")) != 0 {
		t.Fatal("ReasonOf")
	}
}
