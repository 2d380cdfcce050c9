package jpki

import (
	"encoding/asn1"
	"strings"
)

// JPKI object identifiers, under J-LIS's arc 1.2.392.200149 (jpki-pki is
// 1.2.392.200149.8.5). Sources: the J-LIS certificate profile of the public
// personal authentication service, as registered by kjur's jsrsasign JPKI OID
// add-on (jpki-cp-sign-class20, jpki-cp-auth-class30, jpki-pd-*), and the SAN
// otherName arcs read from real signing certificates by My Number Card tools.
var (
	// OIDPolicyArc is jpki-certificatePolicy; every JPKI end-entity policy
	// lies under it.
	OIDPolicyArc = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 1}
	// OIDSignPolicyArc is jpki-cp-digitalSignature: policies of signing
	// certificates (署名用電子証明書).
	OIDSignPolicyArc = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 1, 1}
	// OIDSignPolicy is jpki-cp-sign-class20, the policy of production
	// signing certificates.
	OIDSignPolicy = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 1, 1, 20}
	// OIDAuthPolicyArc is jpki-cp-authenticate: policies of
	// user-authentication certificates (利用者証明用電子証明書).
	OIDAuthPolicyArc = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 1, 3}
	// OIDAuthPolicy is jpki-cp-auth-class30, the policy of production
	// user-authentication certificates. (Not ...1.3.1: the class is 30.)
	OIDAuthPolicy = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 1, 3, 30}

	// OIDPersonalDataArc is jpki-personalData: the subjectAltName otherName
	// types that carry the four basic facts about the holder. Only signing
	// certificates carry them.
	OIDPersonalDataArc = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5}
	// OIDPersonalName is the holder's name (UTF8String).
	OIDPersonalName = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 1}
	// OIDPersonalNameSubstitute marks substitute characters in the name.
	OIDPersonalNameSubstitute = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 2}
	// OIDPersonalSex is the holder's sex as a JIS X 0303 code.
	OIDPersonalSex = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 3}
	// OIDPersonalBirthDate is the holder's birth date (era digit + YYYYMMDD).
	OIDPersonalBirthDate = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 4}
	// OIDPersonalAddress is the holder's address.
	OIDPersonalAddress = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 5}
	// OIDPersonalAddressSubstitute marks substitute characters in the
	// address.
	OIDPersonalAddressSubstitute = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 6}
)

var (
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

	signPolicyPrefix   = OIDSignPolicyArc.String() + "."
	authPolicyPrefix   = OIDAuthPolicyArc.String() + "."
	personalDataPrefix = OIDPersonalDataArc.String() + "."
)

// under reports whether oid lies strictly below the arc written as prefix
// (the arc's dotted form followed by a dot).
func under(oid, prefix string) bool { return strings.HasPrefix(oid, prefix) }
