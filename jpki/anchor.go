package jpki

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
)

// Subject organizational-unit names that classify a trust anchor.
//
// The J-LIS root CAs carry exactly OUAuth or OUSign. A test CA (package
// testca) carries the same value followed by TestSuffix, and ParseAnchor
// marks it Test. Nothing else classifies: an OU that merely starts with one
// of these strings, or a subject naming both kinds, is ReasonBadAnchor.
const (
	OUAuth     = "JPKI for user authentication"
	OUSign     = "JPKI for digital signature"
	TestSuffix = " TEST"
)

// Anchor is a trust anchor: a JPKI root CA certificate of one kind.
type Anchor struct {
	Kind Kind
	Cert *x509.Certificate
	Raw  []byte
	// ID is the SHA-256 of Raw: the anchor's fingerprint.
	ID [32]byte
	// Test is set for test CAs (subject OU ending in TestSuffix). A
	// production genesis should refuse them.
	Test bool
}

// SHA-256 fingerprints of the J-LIS JPKI root CA certificates, published by
// J-LIS at https://www.jpki.go.jp/ca/ca_rules3.html.
var (
	// AuthCA2023ID is the user-authentication root CA of 2023
	// (valid 2023-07-16 to 2033-07-15).
	AuthCA2023ID = [32]byte{
		0x64, 0x11, 0x4F, 0x29, 0x62, 0x0C, 0x24, 0xED, 0x26, 0x31, 0xD4, 0x64, 0x76, 0xA0, 0x40, 0xE7,
		0xEE, 0x74, 0x0D, 0x95, 0x60, 0x89, 0xC0, 0x0B, 0x03, 0x6A, 0x6A, 0x81, 0x18, 0xC3, 0x22, 0xB5,
	}
	// SignCA2023ID is the digital-signature root CA of 2023
	// (valid 2023-07-16 to 2033-07-15).
	SignCA2023ID = [32]byte{
		0xD2, 0x27, 0xF6, 0xCD, 0xE1, 0x1D, 0x35, 0xC5, 0x25, 0x21, 0x78, 0xF1, 0x06, 0xF8, 0x43, 0xD2,
		0x46, 0x51, 0x94, 0x49, 0x75, 0x41, 0x3B, 0x53, 0x9F, 0xA2, 0xFB, 0x68, 0xDB, 0xFA, 0x36, 0x5F,
	}
)

var knownAnchors = map[[32]byte]string{
	AuthCA2023ID: "J-LIS JPKI user authentication CA (2023)",
	SignCA2023ID: "J-LIS JPKI digital signature CA (2023)",
}

// KnownAnchorName returns a label for a J-LIS root CA fingerprint, or "" if
// id is not one this package knows.
func KnownAnchorName(id [32]byte) string { return knownAnchors[id] }

var oidOrganizationalUnit = asn1.ObjectIdentifier{2, 5, 4, 11}

// ParseAnchor parses a DER CA certificate and classifies it.
//
// It must parse without trailing data, be a CA (basicConstraints CA:TRUE,
// and keyCertSign if it has a key usage), have an RSA key of MinRSABits to
// MaxRSABits, and be signed with sha256WithRSAEncryption; a self-signed
// certificate's signature must verify. Its kind comes from the subject OU
// (see OUAuth). The validity window is not checked here: a Certificate
// issued by the anchor carries it into [Certificate.ValidAt].
func ParseAnchor(der []byte) (*Anchor, error) { return parseAnchor(der, MaxAnchorSize) }

func parseAnchor(der []byte, maxSize int) (*Anchor, error) {
	cert, err := parseUpTo(der, maxSize)
	if err != nil {
		return nil, err
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, errorf(ReasonBadAnchor, "trust anchor is not a CA certificate (no basicConstraints CA:TRUE)")
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errorf(ReasonBadAnchor, "trust anchor key usage lacks keyCertSign")
	}
	pub, err := checkKey(cert.PublicKey)
	if err != nil {
		return nil, err
	}
	if cert.SignatureAlgorithm != x509.SHA256WithRSA {
		return nil, errorf(ReasonBadAlgorithm, "trust anchor is signed with %v, not sha256WithRSAEncryption", cert.SignatureAlgorithm)
	}
	if bytes.Equal(cert.RawSubject, cert.RawIssuer) {
		h := sha256.Sum256(cert.RawTBSCertificate)
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], cert.Signature) != nil {
			return nil, errorf(ReasonBadCertSignature, "self-signed trust anchor's signature does not verify")
		}
	}
	kind, test, err := anchorKind(cert)
	if err != nil {
		return nil, err
	}
	return &Anchor{Kind: kind, Cert: cert, Raw: cert.Raw, ID: sha256.Sum256(cert.Raw), Test: test}, nil
}

func anchorKind(cert *x509.Certificate) (kind Kind, test bool, err error) {
	found := 0
	for _, atv := range cert.Subject.Names {
		if !atv.Type.Equal(oidOrganizationalUnit) {
			continue
		}
		s, ok := atv.Value.(string)
		if !ok {
			continue
		}
		var k Kind
		var t bool
		switch s {
		case OUAuth:
			k = KindAuth
		case OUAuth + TestSuffix:
			k, t = KindAuth, true
		case OUSign:
			k = KindSign
		case OUSign + TestSuffix:
			k, t = KindSign, true
		default:
			continue
		}
		if found > 0 && (k != kind || t != test) {
			return KindUnknown, false, errorf(ReasonBadAnchor, "trust anchor subject names more than one JPKI CA kind")
		}
		kind, test = k, t
		found++
	}
	if found == 0 {
		return KindUnknown, false, errorf(ReasonBadAnchor, "trust anchor subject has no JPKI CA organizational unit (%q or %q)", OUAuth, OUSign)
	}
	return kind, test, nil
}

// ParseAnchorsPEM reads one or more PEM CERTIFICATE blocks and parses each
// with [ParseAnchor]. Blocks of another type, text after the last block
// other than white space, and the same certificate twice are errors.
func ParseAnchorsPEM(pemBytes []byte) ([]*Anchor, error) {
	var anchors []*Anchor
	seen := make(map[[32]byte]bool)
	rest := pemBytes
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, errorf(ReasonMalformed, "PEM block %d is %q, not CERTIFICATE", n, block.Type)
		}
		a, err := ParseAnchor(block.Bytes)
		if err != nil {
			e := err.(*Error)
			return nil, errorf(e.Reason, "PEM block %d: %s", n, e.Detail)
		}
		if seen[a.ID] {
			return nil, errorf(ReasonBadAnchor, "PEM block %d repeats an earlier certificate", n)
		}
		seen[a.ID] = true
		anchors = append(anchors, a)
	}
	if len(anchors) == 0 {
		return nil, errorf(ReasonMalformed, "no PEM CERTIFICATE block found")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errorf(ReasonMalformed, "unexpected data after the last PEM block")
	}
	return anchors, nil
}
