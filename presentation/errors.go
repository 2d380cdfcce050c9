package presentation

import (
	"errors"
	"fmt"

	"github.com/idledger/idledger/jpki"
)

// Reason is why a presentation was refused: the "no" of Verify.
type Reason string

// Reasons. The strings are part of the CLI's JSON output.
const (
	// ReasonMalformed: the presentation does not decode or breaks a limit.
	ReasonMalformed Reason = "malformed"
	// ReasonWrongChain: signed for another chain ID.
	ReasonWrongChain Reason = "wrong_chain"
	// ReasonWrongAudience: signed for another relying party.
	ReasonWrongAudience Reason = "wrong_audience"
	// ReasonWrongChallenge: not the challenge this relying party issued.
	ReasonWrongChallenge Reason = "wrong_challenge"
	// ReasonStale: signed longer ago than MaxAge.
	ReasonStale Reason = "stale"
	// ReasonFuture: signed further in the future than MaxSkew.
	ReasonFuture Reason = "future"
	// ReasonCertificate: the certificate does not check out (Error.JPKI says
	// why: expired, unknown_issuer, ...).
	ReasonCertificate Reason = "certificate_invalid"
	// ReasonBadSignature: the signature does not verify with the
	// certificate's key (for example another holder's certificate).
	ReasonBadSignature Reason = "bad_signature"
	// ReasonReplayed: the challenge was used before.
	ReasonReplayed Reason = "replayed_challenge"
	// ReasonNoAttestation: the holder has no attestation of the claim type.
	ReasonNoAttestation Reason = "no_attestation"
	// ReasonAttestationExpired: every attestation of the claim type lapsed.
	ReasonAttestationExpired Reason = "attestation_expired"
	// ReasonAttestationRevoked: the attestation (or the subject) is revoked.
	ReasonAttestationRevoked Reason = "attestation_revoked"
	// ReasonStatusUnknown: the status source cannot tell (a light verifier
	// that has not seen this subject since its checkpoint).
	ReasonStatusUnknown Reason = "status_unknown"
	// ReasonStatusStale: the status source's knowledge is older than
	// MaxStatusAge.
	ReasonStatusStale Reason = "status_stale"
)

// Error is a refusal: the presentation is not accepted, for Reason. Verify
// returns other errors (wrapped I/O failures of the status source or the
// challenge store) when it cannot answer at all.
type Error struct {
	Reason Reason
	// JPKI is the certificate's reason with ReasonCertificate.
	JPKI jpki.Reason
	// Detail is a sentence without the package prefix.
	Detail string
}

// Error returns "presentation: " + Detail.
func (e *Error) Error() string { return "presentation: " + e.Detail }

func refuse(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the Reason of the *Error in err's chain, or "" if there is
// none (an error that is not a refusal).
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// ErrChallengeStore is wrapped by Verify when the challenge store fails.
var ErrChallengeStore = errors.New("presentation: challenge store")
