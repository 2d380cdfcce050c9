package jpki

import (
	"errors"
	"fmt"
)

// Reason is why a certificate, trust anchor or signature was refused.
//
// Each value maps one-to-one onto an ABCI response code elsewhere: the numbers
// are part of the protocol. Never renumber or reuse a value; only append.
type Reason uint8

const (
	// ReasonMalformed: not a DER X.509 certificate, trailing data, too large,
	// or a non-positive serial number.
	ReasonMalformed Reason = 1
	// ReasonExpired: the certificate (or its issuing CA) expired before the
	// given time.
	ReasonExpired Reason = 2
	// ReasonNotYetValid: the certificate (or its issuing CA) is not valid
	// yet at the given time.
	ReasonNotYetValid Reason = 3
	// ReasonUnknownIssuer: no trust anchor of any kind has the
	// certificate's issuer name.
	ReasonUnknownIssuer Reason = 4
	// ReasonWrongAnchorKind: the certificate was issued by an anchor of the
	// other kind (for example a digital-signature CA for an auth certificate).
	ReasonWrongAnchorKind Reason = 5
	// ReasonSigningCertificate: a JPKI digital-signature certificate, which
	// carries personal data, refused unless CheckOptions.AllowSigning.
	ReasonSigningCertificate Reason = 6
	// ReasonNotAuthProfile: not a JPKI user-authentication profile at all
	// (no JPKI policy, wrong key usage, a CA certificate, ...).
	ReasonNotAuthProfile Reason = 7
	// ReasonWeakKey: not an RSA key, or RSA shorter than MinRSABits (or longer
	// than MaxRSABits, or with an unusable public exponent).
	ReasonWeakKey Reason = 8
	// ReasonBadAlgorithm: the certificate signature algorithm is not
	// sha256WithRSAEncryption.
	ReasonBadAlgorithm Reason = 9
	// ReasonBadCertSignature: the issuer's signature over the certificate does
	// not verify with any anchor of that name.
	ReasonBadCertSignature Reason = 10
	// ReasonBadSignature: the subject's signature over a message does not
	// verify.
	ReasonBadSignature Reason = 11
	// ReasonBadAnchor: a trust anchor candidate is not usable: not a CA
	// certificate, or its subject names neither JPKI CA kind. Only
	// ParseAnchor and ParseAnchorsPEM return it.
	ReasonBadAnchor Reason = 12
)

var reasonNames = [...]string{
	ReasonMalformed:          "malformed",
	ReasonExpired:            "expired",
	ReasonNotYetValid:        "not_yet_valid",
	ReasonUnknownIssuer:      "unknown_issuer",
	ReasonWrongAnchorKind:    "wrong_anchor_kind",
	ReasonSigningCertificate: "signing_certificate",
	ReasonNotAuthProfile:     "not_auth_profile",
	ReasonWeakKey:            "weak_key",
	ReasonBadAlgorithm:       "bad_algorithm",
	ReasonBadCertSignature:   "bad_cert_signature",
	ReasonBadSignature:       "bad_signature",
	ReasonBadAnchor:          "bad_anchor",
}

// String returns a short snake_case name such as "expired" or
// "unknown_issuer"; "reason(N)" for a value this package does not define.
func (r Reason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Error is the error type of everything this package returns.
type Error struct {
	Reason Reason
	// Detail is a plain sentence without the package prefix, such as
	// "certificate expired at 2025-03-01T00:00:00Z".
	Detail string
}

// Error returns "jpki: " + Detail.
func (e *Error) Error() string { return "jpki: " + e.Detail }

func errorf(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the Reason of the *Error in err's chain, or 0 if there is
// none.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return 0
}
