package jpki

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"time"
)

// Limits applied by Check and ParseAnchor.
const (
	// MaxCertificateSize bounds the DER size of a holder's certificate
	// (Check, and the certificate fields of transactions and presentations,
	// which refuse a larger one before it gets here). Real JPKI
	// certificates are under 2 KiB.
	MaxCertificateSize = 4 << 10
	// MaxAnchorSize bounds the DER size of a trust anchor (ParseAnchor:
	// genesis, add_anchor, and the anchor set read back from the state).
	// It is larger than MaxCertificateSize because chains have admitted
	// anchors up to it, and every node must go on executing and reading
	// them as before. The J-LIS roots are under 2 KiB.
	//
	// Both limits are consensus-visible: change them only with a chain
	// upgrade.
	MaxAnchorSize = 8 << 10
	// MinRSABits is the smallest RSA modulus accepted.
	MinRSABits = 2048
	// MaxRSABits is the largest RSA modulus accepted, which bounds the cost
	// of a verification. JPKI uses 2048.
	MaxRSABits = 4096
)

// Certificate is the time-independent result of checking a subject
// certificate. It depends only on the DER bytes and the CheckOptions, so it
// may be cached per (DER, anchor set, AllowSigning). Treat it as read-only.
type Certificate struct {
	X509      *x509.Certificate
	Raw       []byte
	Kind      Kind
	PublicKey *rsa.PublicKey
	// Commitment is the identity commitment of the certificate: see
	// [Commitment].
	Commitment [32]byte
	// AnchorID is the ID of the anchor whose key signed the certificate.
	AnchorID            [32]byte
	NotBefore, NotAfter time.Time

	// The issuing anchor's validity window, checked by ValidAt as
	// crypto/x509 checks every certificate of a chain. Zero when unknown.
	anchorNotBefore, anchorNotAfter time.Time
}

// CheckOptions are the inputs of Check besides the certificate.
type CheckOptions struct {
	// Anchors are the trusted root CAs, of both kinds.
	Anchors []*Anchor
	// AllowSigning accepts JPKI digital-signature certificates (which carry
	// personal data), issued by a signing anchor. idledger never sets it
	// for transactions.
	AllowSigning bool
}

// Check parses der and runs every time-independent check, in this order (the
// first failure is reported):
//
//  1. DER X.509, at most MaxCertificateSize bytes, no trailing bytes, a
//     positive serial: else ReasonMalformed.
//  2. Profile: not a CA; [Classify] says KindAuth (or KindSign with
//     AllowSigning, else ReasonSigningCertificate); key usage includes
//     digitalSignature and neither keyCertSign nor cRLSign; no unhandled
//     critical extension: else ReasonNotAuthProfile.
//  3. Key: RSA of MinRSABits to MaxRSABits bits with an odd exponent of at
//     least 3: else ReasonWeakKey.
//  4. Algorithm: sha256WithRSAEncryption: else ReasonBadAlgorithm.
//  5. Issuer: an anchor of the certificate's kind whose raw subject equals
//     the certificate's raw issuer and whose key verifies the signature. If
//     none, an anchor of the other kind that verifies it gives
//     ReasonWrongAnchorKind; an anchor of that name that does not verify it
//     gives ReasonBadCertSignature; no anchor of that name gives
//     ReasonUnknownIssuer.
//
// JPKI issues end-entity certificates directly from the root CA: there are no
// intermediates. Every error is a *Error.
func Check(der []byte, opts CheckOptions) (*Certificate, error) {
	cert, err := parse(der)
	if err != nil {
		return nil, err
	}
	kind, err := checkProfile(cert, opts.AllowSigning)
	if err != nil {
		return nil, err
	}
	pub, err := checkKey(cert.PublicKey)
	if err != nil {
		return nil, err
	}
	if cert.SignatureAlgorithm != x509.SHA256WithRSA {
		return nil, errorf(ReasonBadAlgorithm, "certificate is signed with %v, not sha256WithRSAEncryption", cert.SignatureAlgorithm)
	}
	anchor, err := findIssuer(cert, kind, opts.Anchors)
	if err != nil {
		return nil, err
	}
	return &Certificate{
		X509:            cert,
		Raw:             cert.Raw,
		Kind:            kind,
		PublicKey:       pub,
		Commitment:      Commitment(cert.RawIssuer, cert.SerialNumber),
		AnchorID:        anchor.ID,
		NotBefore:       cert.NotBefore,
		NotAfter:        cert.NotAfter,
		anchorNotBefore: anchor.Cert.NotBefore,
		anchorNotAfter:  anchor.Cert.NotAfter,
	}, nil
}

// ValidAt checks the validity window at t, bounds included as crypto/x509
// does, and then the issuing anchor's window. It returns ReasonNotYetValid or
// ReasonExpired with RFC 3339 UTC times in the message.
func (c *Certificate) ValidAt(t time.Time) error {
	if t.Before(c.NotBefore) {
		return errorf(ReasonNotYetValid, "certificate is not valid before %s", rfc3339(c.NotBefore))
	}
	if t.After(c.NotAfter) {
		return errorf(ReasonExpired, "certificate expired at %s", rfc3339(c.NotAfter))
	}
	if !c.anchorNotBefore.IsZero() && t.Before(c.anchorNotBefore) {
		return errorf(ReasonNotYetValid, "issuing CA certificate is not valid before %s", rfc3339(c.anchorNotBefore))
	}
	if !c.anchorNotAfter.IsZero() && t.After(c.anchorNotAfter) {
		return errorf(ReasonExpired, "issuing CA certificate expired at %s", rfc3339(c.anchorNotAfter))
	}
	return nil
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// parse parses a copy of a DER certificate; x509.ParseCertificate refuses
// trailing data itself.
func parse(der []byte) (*x509.Certificate, error) { return parseUpTo(der, MaxCertificateSize) }

// parseUpTo is parse with another size limit.
func parseUpTo(der []byte, maxSize int) (*x509.Certificate, error) {
	if len(der) == 0 {
		return nil, errorf(ReasonMalformed, "empty certificate")
	}
	if len(der) > maxSize {
		return nil, errorf(ReasonMalformed, "certificate of %d bytes is larger than %d", len(der), maxSize)
	}
	// The parsed certificate aliases its input: copy it, so a cached
	// result does not change when the caller reuses its buffer.
	cert, err := x509.ParseCertificate(bytes.Clone(der))
	if err != nil {
		return nil, errorf(ReasonMalformed, "not a DER X.509 certificate: %v", err)
	}
	if cert.SerialNumber == nil || cert.SerialNumber.Sign() <= 0 {
		return nil, errorf(ReasonMalformed, "certificate serial number is not positive")
	}
	return cert, nil
}

func checkProfile(cert *x509.Certificate, allowSigning bool) (Kind, error) {
	const notAuth = "not a user-authentication certificate: "
	if cert.BasicConstraintsValid && cert.IsCA {
		return KindUnknown, errorf(ReasonNotAuthProfile, notAuth+"it is a CA certificate")
	}
	kind := Classify(cert)
	switch kind {
	case KindAuth:
	case KindSign:
		if !allowSigning {
			return KindUnknown, errorf(ReasonSigningCertificate, "JPKI signing certificate refused: it carries personal data; use the user-authentication certificate")
		}
	default:
		return KindUnknown, errorf(ReasonNotAuthProfile, notAuth+"no JPKI certificate policy")
	}
	prefix := notAuth
	if kind == KindSign {
		prefix = "not a JPKI signing certificate: "
	}
	if cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return KindUnknown, errorf(ReasonNotAuthProfile, "%skey usage lacks digitalSignature", prefix)
	}
	if cert.KeyUsage&(x509.KeyUsageCertSign|x509.KeyUsageCRLSign) != 0 {
		return KindUnknown, errorf(ReasonNotAuthProfile, "%skey usage allows signing certificates or CRLs", prefix)
	}
	if len(cert.UnhandledCriticalExtensions) > 0 {
		return KindUnknown, errorf(ReasonNotAuthProfile, "%sunhandled critical extension %v", prefix, cert.UnhandledCriticalExtensions[0])
	}
	return kind, nil
}

func checkKey(pk any) (*rsa.PublicKey, error) {
	pub, ok := pk.(*rsa.PublicKey)
	if !ok || pub == nil || pub.N == nil {
		return nil, errorf(ReasonWeakKey, "public key is not RSA")
	}
	bits := pub.N.BitLen()
	if bits < MinRSABits {
		return nil, errorf(ReasonWeakKey, "RSA key of %d bits is shorter than %d", bits, MinRSABits)
	}
	if bits > MaxRSABits {
		return nil, errorf(ReasonWeakKey, "RSA key of %d bits is longer than %d", bits, MaxRSABits)
	}
	if pub.E < 3 || pub.E%2 == 0 {
		return nil, errorf(ReasonWeakKey, "RSA public exponent %d is not an odd number of at least 3", pub.E)
	}
	return pub, nil
}

func findIssuer(cert *x509.Certificate, kind Kind, anchors []*Anchor) (*Anchor, error) {
	var h [32]byte
	hashed := false
	verifies := func(a *Anchor) bool {
		pub, ok := a.Cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return false
		}
		if !hashed {
			h, hashed = sha256.Sum256(cert.RawTBSCertificate), true
		}
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], cert.Signature) == nil
	}
	named := false
	for _, a := range anchors {
		if a == nil || a.Cert == nil || a.Kind != kind || !bytes.Equal(a.Cert.RawSubject, cert.RawIssuer) {
			continue
		}
		named = true
		if verifies(a) {
			return a, nil
		}
	}
	for _, a := range anchors {
		if a == nil || a.Cert == nil || a.Kind == kind || !bytes.Equal(a.Cert.RawSubject, cert.RawIssuer) {
			continue
		}
		named = true
		if verifies(a) {
			return nil, errorf(ReasonWrongAnchorKind, "certificate of kind %v is issued by a %v trust anchor", kind, a.Kind)
		}
	}
	if named {
		return nil, errorf(ReasonBadCertSignature, "certificate signature does not verify with its issuer's key")
	}
	return nil, errorf(ReasonUnknownIssuer, "certificate issuer %q is not a trust anchor", cert.Issuer.String())
}

// Classify tells the JPKI profile of any certificate from its policies and
// subjectAltName, without checking anything else:
//
//   - KindSign if a certificate policy lies under OIDSignPolicyArc
//     (1.2.392.200149.8.5.1.1.*) or a subjectAltName otherName type lies under
//     OIDPersonalDataArc (1.2.392.200149.8.5.5.*): personal data wins over
//     everything;
//   - else KindAuth if a policy lies under OIDAuthPolicyArc
//     (1.2.392.200149.8.5.1.3.*);
//   - else KindUnknown.
//
// It never panics, whatever the certificate holds; nil is KindUnknown.
func Classify(cert *x509.Certificate) Kind {
	if cert == nil {
		return KindUnknown
	}
	auth := false
	for _, p := range cert.Policies {
		s := p.String()
		if under(s, signPolicyPrefix) {
			return KindSign
		}
		if under(s, authPolicyPrefix) {
			auth = true
		}
	}
	// Certificates built by hand (not parsed) may set only PolicyIdentifiers.
	for _, p := range cert.PolicyIdentifiers {
		s := p.String()
		if under(s, signPolicyPrefix) {
			return KindSign
		}
		if under(s, authPolicyPrefix) {
			auth = true
		}
	}
	if hasPersonalData(cert) {
		return KindSign
	}
	if auth {
		return KindAuth
	}
	return KindUnknown
}

// hasPersonalData reports whether a subjectAltName otherName has a type
// under OIDPersonalDataArc. Unparsable extensions count as none.
func hasPersonalData(cert *x509.Certificate) bool {
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		var names []asn1.RawValue
		if _, err := asn1.Unmarshal(ext.Value, &names); err != nil {
			continue
		}
		for _, n := range names {
			// otherName [0] IMPLICIT SEQUENCE { type-id OID, value [0] EXPLICIT ANY }
			if n.Class != asn1.ClassContextSpecific || n.Tag != 0 || !n.IsCompound {
				continue
			}
			var typeID asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(n.Bytes, &typeID); err != nil {
				continue
			}
			if under(typeID.String(), personalDataPrefix) {
				return true
			}
		}
	}
	return false
}
