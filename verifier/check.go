package verifier

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/presentation"
)

// StateUnknown is Check's answer for a subject the store has no record of
// when the store started from a checkpoint after the chain's first blocks:
// the record may have been written before the checkpoint.
const StateUnknown chain.ClaimState = "unknown"

// Answer is what the store knows of a (subject, claim type).
type Answer struct {
	chain.Status
	Subject   []byte
	ClaimType string
	// Record is the proven record (nil: none known).
	Record *chainpb.ClaimStatus
	// RecordHeight is the state version the record was proven at, and
	// RecordTime the time of the header that proved it (zero without a
	// record).
	RecordHeight int64
	RecordTime   time.Time
	// KnownHeight is the store's latest verified block: every change up to
	// the block before it is in the store. KnownTime is that block's time
	// and Age how old it is at the time of the check.
	KnownHeight int64
	KnownTime   time.Time
	Age         time.Duration
	// VerifiedThrough is KnownHeight-1: the last block every status change
	// of which the store holds, proven (header KnownHeight, of time
	// KnownTime, proved them). A change in a later block is not known.
	VerifiedThrough int64
	// Stale says Age passed the maximum staleness of the check (CheckFresh):
	// the State is then unknown, whatever the record says.
	Stale        bool
	MaxStaleness time.Duration
	// Complete says the store has followed the chain from its first
	// blocks, so a missing record means none.
	Complete bool
	ChainID  string
}

// Check answers from the store, without a network: the status of
// (subject, claimType) at now, with the height the store knows and how old
// that knowledge is.
func Check(s *Store, subject []byte, claimType string, now time.Time) (*Answer, error) {
	head, ls, err := s.Head()
	if err != nil {
		return nil, err
	}
	a := &Answer{
		Subject: subject, ClaimType: claimType, ChainID: head.ChainId,
		KnownHeight: ls.Height(), KnownTime: ls.Header.Time.UTC(), Age: now.Sub(ls.Header.Time),
		VerifiedThrough: ls.Height() - 1, Complete: head.CheckpointHeight <= 2,
	}
	c, err := s.Get(chain.ClaimKey(subject, claimType))
	if err != nil {
		return nil, err
	}
	if c != nil {
		a.RecordHeight, a.RecordTime = c.Height, time.Unix(c.HeaderTime, 0).UTC()
		if c.Height > a.VerifiedThrough {
			// Read while verifier run saves a block (records first, then
			// the head): this record is newer than the head read. The
			// answer is then as fresh as its own proof.
			a.VerifiedThrough, a.KnownHeight, a.KnownTime = c.Height, c.Height+1, a.RecordTime
			a.Age = now.Sub(a.RecordTime)
		}
		if len(c.Value) > 0 {
			a.Record = new(chainpb.ClaimStatus)
			if err := proto.Unmarshal(c.Value, a.Record); err != nil {
				return nil, fmt.Errorf("verifier: record of %x is corrupt: %w", subject, err)
			}
		}
	}
	if c == nil && !a.Complete {
		a.Status = chain.Status{State: StateUnknown}
		return a, nil
	}
	a.Status = chain.StatusOf(a.Record, now.Unix())
	return a, nil
}

// CheckFresh is Check for a gate with a maximum staleness: when the store's
// knowledge is older than maxStaleness at now (its peers are gone, or a
// block's changes are withheld), the answer is unknown and Stale, never
// valid. maxStaleness <= 0 is no limit.
func CheckFresh(s *Store, subject []byte, claimType string, now time.Time, maxStaleness time.Duration) (*Answer, error) {
	a, err := Check(s, subject, claimType, now)
	if err != nil {
		return nil, err
	}
	a.MaxStaleness = maxStaleness
	if maxStaleness > 0 && a.Age > maxStaleness {
		a.Stale = true
		a.Status = chain.Status{State: StateUnknown}
	}
	return a, nil
}

// Anchors returns the chain's trust anchors as the store last proved them.
func (s *Store) Anchors() ([]*jpki.Anchor, error) {
	c, err := s.Get(chain.AnchorsKey())
	if err != nil {
		return nil, err
	}
	if c == nil || len(c.Value) == 0 {
		return nil, fmt.Errorf("verifier: the store in %s holds no trust anchors yet", s.dir)
	}
	out, err := chain.DecodeAnchorSet(c.Value)
	if err != nil {
		return nil, fmt.Errorf("verifier: the store in %s: %w", s.dir, err)
	}
	return out, nil
}

// StatusSource is a presentation.StatusSource answering from a store.
type StatusSource struct {
	Store *Store
	// Now is the clock of the check (default time.Now).
	Now func() time.Time
	// MaxStaleness, when positive: a store whose knowledge is older answers
	// presentation.ErrStatusUnknown (see CheckFresh).
	MaxStaleness time.Duration
}

var _ presentation.StatusSource = StatusSource{}

// ClaimStatus implements presentation.StatusSource: the record as proven,
// at the time of the store's latest verified block (so that
// VerifyOptions.MaxStatusAge measures how old the store's knowledge is).
func (s StatusSource) ClaimStatus(_ context.Context, subject []byte, claimType string) (*presentation.KnownStatus, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	a, err := CheckFresh(s.Store, subject, claimType, now(), s.MaxStaleness)
	if err != nil {
		return nil, err
	}
	if a.Stale {
		return nil, fmt.Errorf("%w: the verifier store in %s knows the chain through block %d, proven at %s, %s ago: over the maximum staleness %s",
			presentation.ErrStatusUnknown, s.Store.dir, a.VerifiedThrough, a.KnownTime.Format(time.RFC3339), a.Age.Round(time.Second), s.MaxStaleness)
	}
	if a.State == StateUnknown {
		return nil, fmt.Errorf("%w: the verifier store in %s started at a checkpoint and has seen no change of it since", presentation.ErrStatusUnknown, s.Store.dir)
	}
	return &presentation.KnownStatus{Record: a.Record, Height: a.KnownHeight - 1, Time: a.KnownTime, Source: "verifier store " + s.Store.dir}, nil
}
