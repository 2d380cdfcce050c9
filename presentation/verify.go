package presentation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/jpki"
)

// Defaults of VerifyOptions.
const (
	DefaultMaxAge  = 2 * time.Minute
	DefaultMaxSkew = 30 * time.Second
)

// ErrStatusUnknown is returned (wrapped) by a StatusSource that cannot tell
// the status of a subject; Verify answers ReasonStatusUnknown.
var ErrStatusUnknown = errors.New("status unknown")

// KnownStatus is a ClaimStatus record as a StatusSource proved it.
type KnownStatus struct {
	// Record is the ClaimStatus record, nil when proven absent.
	Record *chainpb.ClaimStatus
	// Height is the state version the record was proven at; Time is the
	// time of the verified header (block Height+1) that proved it.
	Height int64
	Time   time.Time
	// Source describes where the status comes from ("node URL",
	// "verifier store DIR").
	Source string
}

// StatusSource answers with a proven ClaimStatus record.
type StatusSource interface {
	ClaimStatus(ctx context.Context, subject []byte, claimType string) (*KnownStatus, error)
}

// ChallengeStore remembers used challenges.
//
// Use records challenge as used until expires and reports whether it was
// fresh: never seen, or seen under an entry that expired before now. It is
// the single-use check; entries past their expiry may be forgotten (a
// presentation that old is refused as stale anyway).
type ChallengeStore interface {
	Use(challenge []byte, expires, now time.Time) (fresh bool, err error)
}

// VerifyOptions are the inputs of Verify besides the presentation.
type VerifyOptions struct {
	// ChainID the presentation must be signed for (required).
	ChainID string
	// Anchors are the chain's trust anchors.
	Anchors []*jpki.Anchor
	// Now is the current time (required).
	Now time.Time
	// MaxAge is how long ago the holder may have signed (default
	// DefaultMaxAge); MaxSkew how far in the future (default
	// DefaultMaxSkew).
	MaxAge, MaxSkew time.Duration
	// Audience is this relying party's name (required).
	Audience string
	// Challenge, when set, is the challenge this relying party issued: the
	// presentation must carry exactly it.
	Challenge []byte
	// ClaimType is the claim the holder must have (required).
	ClaimType string
	// Challenges enforces single use (required).
	Challenges ChallengeStore
	// Status proves the holder's claim status (required).
	Status StatusSource
	// MaxStatusAge, when positive, refuses a status proven by a header older
	// than this (ReasonStatusStale): an offline verifier that stopped
	// hearing from the chain.
	MaxStatusAge time.Duration
	// MaxStaleness, when positive, answers ReasonStatusUnknown (never yes)
	// when the status is proven by a header older than this at Now: the
	// gate's bound on how late it may learn of a revocation.
	MaxStaleness time.Duration
}

// Result is a "yes": the presentation holds.
type Result struct {
	// Subject is the identity commitment of the holder's certificate.
	Subject   []byte
	ClaimType string
	Status    chain.Status
	// Height and StatusTime say what the status rests on (KnownStatus):
	// every change through block Height is in it; StatusAge is how old
	// StatusTime was at Now.
	Height       int64
	StatusTime   time.Time
	StatusAge    time.Duration
	StatusSource string
	// CertNotAfter is when the holder's certificate expires.
	CertNotAfter time.Time
}

// Verify checks p, in this order (the first failure is the answer): chain
// ID, audience, challenge (when VerifyOptions.Challenge is set), time
// window, certificate (jpki.Check and validity at Now), signature, single
// use of the challenge, then the attestation status of ClaimType at Now.
// A "no" is a *Error with its Reason. Other errors mean Verify could not
// answer (the status source or challenge store failed); they never mean yes.
func Verify(ctx context.Context, p *Presentation, opts VerifyOptions) (*Result, error) {
	if opts.ChainID == "" || opts.Audience == "" || opts.ClaimType == "" || opts.Now.IsZero() || opts.Challenges == nil || opts.Status == nil {
		return nil, errors.New("presentation: VerifyOptions needs ChainID, Audience, ClaimType, Now, Challenges and Status")
	}
	maxAge, maxSkew := opts.MaxAge, opts.MaxSkew
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	if p.ChainID != opts.ChainID {
		return nil, refuse(ReasonWrongChain, "signed for chain %q, this is %q", p.ChainID, opts.ChainID)
	}
	if p.Audience != opts.Audience {
		return nil, refuse(ReasonWrongAudience, "signed for audience %q, this is %q", p.Audience, opts.Audience)
	}
	if opts.Challenge != nil && !bytes.Equal(p.Challenge, opts.Challenge) {
		return nil, refuse(ReasonWrongChallenge, "the presentation answers challenge %x, not the one issued (%x)", p.Challenge, opts.Challenge)
	}
	signed := time.Unix(p.Time, 0).UTC()
	if opts.Now.Sub(signed) > maxAge {
		return nil, refuse(ReasonStale, "signed at %s, more than %s before %s", rfc3339(signed), maxAge, rfc3339(opts.Now))
	}
	if signed.Sub(opts.Now) > maxSkew {
		return nil, refuse(ReasonFuture, "signed at %s, more than %s after %s", rfc3339(signed), maxSkew, rfc3339(opts.Now))
	}
	cert, err := jpki.Check(p.AuthCertificate, jpki.CheckOptions{Anchors: opts.Anchors})
	if err == nil {
		err = cert.ValidAt(opts.Now)
	}
	if err != nil {
		e := refuse(ReasonCertificate, "certificate: %s", trimJPKI(err))
		e.JPKI = jpki.ReasonOf(err)
		return nil, e
	}
	if err := jpki.VerifySignature(cert.PublicKey, SignBytes(p.Body), p.Signature); err != nil {
		return nil, refuse(ReasonBadSignature, "signature does not verify with the certificate's key")
	}
	fresh, err := opts.Challenges.Use(p.Challenge, signed.Add(maxAge+time.Second), opts.Now)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrChallengeStore, err)
	}
	if !fresh {
		return nil, refuse(ReasonReplayed, "challenge %x was used before", p.Challenge)
	}
	subject := cert.Commitment[:]
	ks, err := opts.Status.ClaimStatus(ctx, subject, opts.ClaimType)
	if err != nil {
		if errors.Is(err, ErrStatusUnknown) {
			return nil, refuse(ReasonStatusUnknown, "status of subject %x unknown: %v", subject, err)
		}
		return nil, fmt.Errorf("presentation: status of subject %x: %w", subject, err)
	}
	if opts.MaxStaleness > 0 && opts.Now.Sub(ks.Time) > opts.MaxStaleness {
		return nil, refuse(ReasonStatusUnknown, "the status is known through block %d, proven at %s, %s ago: over the maximum staleness %s",
			ks.Height, rfc3339(ks.Time), opts.Now.Sub(ks.Time).Round(time.Second), opts.MaxStaleness)
	}
	if opts.MaxStatusAge > 0 && opts.Now.Sub(ks.Time) > opts.MaxStatusAge {
		return nil, refuse(ReasonStatusStale, "the status is proven at %s (height %d), more than %s ago", rfc3339(ks.Time), ks.Height, opts.MaxStatusAge)
	}
	st := chain.StatusOf(ks.Record, opts.Now.Unix())
	switch st.State {
	case chain.StateValid:
	case chain.StateNone:
		return nil, refuse(ReasonNoAttestation, "subject %x has no %q attestation (height %d)", subject, opts.ClaimType, ks.Height)
	case chain.StateExpired:
		return nil, refuse(ReasonAttestationExpired, "subject %x's %q attestation lapsed at %s (height %d)", subject, opts.ClaimType, rfc3339(time.Unix(st.Entry.NotAfter, 0)), ks.Height)
	case chain.StateRevoked:
		why := ""
		if st.Revocation != nil {
			why = fmt.Sprintf(" by %s: %s", st.Revocation.By, st.Revocation.Reason)
		}
		return nil, refuse(ReasonAttestationRevoked, "subject %x's %q attestation is revoked%s (height %d)", subject, opts.ClaimType, why, ks.Height)
	default:
		return nil, refuse(ReasonStatusUnknown, "status %q", st.State)
	}
	return &Result{
		Subject: subject, ClaimType: opts.ClaimType, Status: st, Height: ks.Height, StatusTime: ks.Time,
		StatusAge: opts.Now.Sub(ks.Time), StatusSource: ks.Source, CertNotAfter: cert.NotAfter,
	}, nil
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func trimJPKI(err error) string {
	var e *jpki.Error
	if errors.As(err, &e) {
		return e.Detail
	}
	return err.Error()
}
