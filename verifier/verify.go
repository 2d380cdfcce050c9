package verifier

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	cmtmath "github.com/cometbft/cometbft/libs/math"
	"github.com/cometbft/cometbft/light"
	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/feed"
	"github.com/idledger/idledger/feed/feedpb"
)

var (
	// ErrRefused is wrapped by VerifyUpdate and VerifyCheckpoint when an
	// update does not verify: a forged header, a tampered entry, another
	// chain. The update must be dropped.
	ErrRefused = errors.New("verifier: update refused")
	// ErrGap is returned by VerifyUpdate for an update that does not follow
	// the trusted height: the updates in between are needed first.
	ErrGap = errors.New("verifier: not the next height")
	// ErrNeedValidators is returned by VerifyUpdate when the validator set
	// changed and the update did not carry it (ask the sync protocol).
	ErrNeedValidators = errors.New("verifier: the update lacks its changed validator set")
	// ErrStale is returned by VerifyUpdate for an update at or below the
	// trusted height.
	ErrStale = errors.New("verifier: already verified")
	// ErrIncomplete is returned by VerifyUpdate and VerifyCheckpoint for an
	// update whose header verifies but which lacks the proven change list
	// of its block, or a record that list names: a peer withheld a change.
	// The verifier must not advance with it; another source may complete
	// it. Honest nodes never send one.
	ErrIncomplete = errors.New("verifier: update omits a change")
)

// errAtThisClock marks a refusal that depends on the verifier's clock or
// trusting period (an expired trusted header, a header from the future):
// honest peers can send such an update, so it does not count against them.
var errAtThisClock = errors.New("not verifiable at this clock")

// requireCompleteness is switched off only by tests that show what the
// design without change lists did (export_test.go).
var requireCompleteness = true

// Params are the light-client parameters.
type Params struct {
	// TrustingPeriod: a trusted header older than this no longer verifies
	// anything (light.ErrOldHeaderExpired); re-anchor with a new
	// checkpoint.
	TrustingPeriod time.Duration
	// MaxClockDrift: how far in the future a header's time may be.
	MaxClockDrift time.Duration
	// TrustLevel for non-adjacent verification (default 1/3). Updates are
	// verified one height after another (to see every change), so it only
	// matters to light.Verify's contract.
	TrustLevel cmtmath.Fraction
}

// DefaultParams are CometBFT's light-client defaults.
func DefaultParams() Params {
	return Params{TrustingPeriod: 168 * time.Hour, MaxClockDrift: 10 * time.Second, TrustLevel: light.DefaultTrustLevel}
}

// LightState is the latest verified block.
type LightState struct {
	Header     *cmttypes.SignedHeader
	Validators *cmttypes.ValidatorSet
}

// Height is the verified height.
func (s *LightState) Height() int64 { return s.Header.Height }

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// VerifyCheckpoint verifies the update of the trusted block: its header
// hashes to trustHash at trustHeight, it carries the validator set its
// header names, more than 2/3 of them signed its commit, it is within the
// trusting period at now, and its entries prove against its app hash.
func VerifyCheckpoint(u *feed.Update, trustHeight int64, trustHash []byte, p Params, now time.Time) (*LightState, []*feedpb.StoredClaim, error) {
	if u.Height != trustHeight {
		return nil, nil, refused("checkpoint update is for height %d, not %d", u.Height, trustHeight)
	}
	if h := u.Header.Hash(); !bytes.Equal(h, trustHash) {
		return nil, nil, refused("block %d hashes to %X, not the trusted %X", u.Height, h, trustHash)
	}
	if u.Validators == nil {
		return nil, nil, refused("checkpoint update without its validator set")
	}
	if err := u.Validators.VerifyCommitLight(u.ChainID, u.Header.Commit.BlockID, u.Height, u.Header.Commit); err != nil {
		return nil, nil, refused("checkpoint commit: %v", err)
	}
	if light.HeaderExpired(u.Header, p.TrustingPeriod, now) {
		return nil, nil, refused("checkpoint block %d of %s is older than the trusting period %s", u.Height, u.Header.Time.UTC().Format(time.RFC3339), p.TrustingPeriod)
	}
	st := &LightState{Header: u.Header, Validators: u.Validators}
	claims, err := verifyEntries(u)
	if err != nil {
		return nil, nil, err
	}
	if err := checkComplete(u, claims); err != nil {
		return nil, nil, err
	}
	return st, claims, nil
}

// VerifyUpdate verifies the update that follows trusted: same chain, the
// next height, light.VerifyAdjacent with the update's validator set (or
// the trusted one when the header says it did not change), and every entry
// against its proof and the new header's app hash. It returns the new
// light state and the proven records.
func VerifyUpdate(trusted *LightState, u *feed.Update, p Params, now time.Time) (*LightState, []*feedpb.StoredClaim, error) {
	if u.ChainID != trusted.Header.ChainID || u.Header.ChainID != trusted.Header.ChainID {
		return nil, nil, refused("update for chain %q, this verifier follows %q", u.ChainID, trusted.Header.ChainID)
	}
	switch {
	case u.Height <= trusted.Height():
		return nil, nil, ErrStale
	case u.Height > trusted.Height()+1:
		return nil, nil, fmt.Errorf("%w: have %d, got %d", ErrGap, trusted.Height(), u.Height)
	}
	return verifyFrom(trusted, u, p, now)
}

// verifyAhead verifies an update for a height past the next one as far as
// it can before its turn: light.Verify's non-adjacent check (at least the
// trust level of the trusted validators and two thirds of its own signed
// it), its entries against its app hash and its completeness. What passes
// is the chain's block (unless a third of the trusted validators lie);
// only the adjacency to the heights in between is left for its turn. A
// forged or tampered update fails with ErrRefused, one whose validator set
// changed and is not carried with ErrNeedValidators.
func verifyAhead(trusted *LightState, u *feed.Update, p Params, now time.Time) (*LightState, []*feedpb.StoredClaim, error) {
	if u.ChainID != trusted.Header.ChainID || u.Header.ChainID != trusted.Header.ChainID {
		return nil, nil, refused("update for chain %q, this verifier follows %q", u.ChainID, trusted.Header.ChainID)
	}
	if u.Height <= trusted.Height()+1 {
		return nil, nil, fmt.Errorf("verifier: update %d is not ahead of %d", u.Height, trusted.Height()+1)
	}
	return verifyFrom(trusted, u, p, now)
}

// verifyFrom is VerifyUpdate and verifyAhead after their height checks.
func verifyFrom(trusted *LightState, u *feed.Update, p Params, now time.Time) (*LightState, []*feedpb.StoredClaim, error) {
	vals := u.Validators
	if vals == nil {
		if !bytes.Equal(trusted.Validators.Hash(), u.Header.ValidatorsHash) {
			return nil, nil, fmt.Errorf("%w (height %d)", ErrNeedValidators, u.Height)
		}
		vals = trusted.Validators
	}
	if err := light.Verify(trusted.Header, trusted.Validators, u.Header, vals, p.TrustingPeriod, now, p.MaxClockDrift, p.TrustLevel); err != nil {
		var expired light.ErrOldHeaderExpired
		if errors.As(err, &expired) || strings.Contains(err.Error(), "from the future") {
			// Depends on this verifier's clock and trust: no proof against the sender.
			return nil, nil, fmt.Errorf("%w: %w: header %d: %v", ErrRefused, errAtThisClock, u.Height, err)
		}
		return nil, nil, refused("header %d: %v", u.Height, err)
	}
	claims, err := verifyEntries(u)
	if err != nil {
		return nil, nil, err
	}
	if err := checkComplete(u, claims); err != nil {
		return nil, nil, err
	}
	return &LightState{Header: u.Header, Validators: vals}, claims, nil
}

// checkComplete checks that a verified update holds its block's proven
// change list (for height 2 on: state version height-1 has one) and a
// proven record for every key the list names.
func checkComplete(u *feed.Update, claims []*feedpb.StoredClaim) error {
	if !requireCompleteness || u.Height < 2 {
		return nil
	}
	var list *feedpb.StoredClaim
	have := make(map[string]bool, len(claims))
	for _, c := range claims {
		if bytes.Equal(c.Key, chain.ChangesKey()) {
			list = c
		}
		have[string(c.Key)] = true
	}
	if list == nil {
		return fmt.Errorf("%w: update %d carries no change list of block %d", ErrIncomplete, u.Height, u.Height-1)
	}
	if len(list.Value) == 0 {
		return refused("height %d: the chain's state %d holds no change list (a chain without feed completeness)", u.Height, u.Height-1)
	}
	changes, err := chain.DecodeChanges(list.Value)
	if err != nil {
		return refused("height %d: proven change list: %v", u.Height, err)
	}
	if changes.Height != u.Height-1 {
		return refused("height %d: proven change list is block %d's, not %d's", u.Height, changes.Height, u.Height-1)
	}
	listed := make(map[string]bool, len(changes.Keys))
	for _, k := range changes.Keys {
		if !have[string(k)] {
			return fmt.Errorf("%w: update %d lacks record %x that block %d changed", ErrIncomplete, u.Height, k, u.Height-1)
		}
		listed[string(k)] = true
	}
	// Nothing else: a peer that pads an update with proofs of keys the
	// block did not change (absence proofs are free from any node) would
	// make this verifier store them. Honest publishers never send one.
	for _, c := range claims {
		if !listed[string(c.Key)] && !bytes.Equal(c.Key, chain.ChangesKey()) && !bytes.Equal(c.Key, chain.AnchorsKey()) {
			return refused("height %d: entry %x is not in block %d's change list", u.Height, c.Key, u.Height-1)
		}
	}
	return nil
}

// verifyEntries checks every entry of a verified header's update.
func verifyEntries(u *feed.Update) ([]*feedpb.StoredClaim, error) {
	root := []byte(u.Header.AppHash)
	out := make([]*feedpb.StoredClaim, 0, len(u.Entries))
	for _, e := range u.Entries {
		if err := checkEntryValue(e.Key, e.Value); err != nil {
			return nil, refused("height %d: entry %x: %v", u.Height, e.Key, err)
		}
		proof, err := chain.DecodeProof(e.Proof)
		if err != nil {
			return nil, refused("height %d: entry %x: %v", u.Height, e.Key, err)
		}
		if err := chain.CheckProof(proof, e.Key, e.Value, root); err != nil {
			return nil, refused("height %d: entry %x: %v", u.Height, e.Key, err)
		}
		out = append(out, &feedpb.StoredClaim{
			Key: e.Key, Value: e.Value, Height: u.Height - 1, HeaderTime: u.Header.Time.Unix(), AppHash: root, Proof: e.Proof,
		})
	}
	return out, nil
}

// checkEntryValue accepts the keys a feed carries: ClaimStatus records
// (whose value must be the record of that key), subject revocations, the
// trust anchor set and the change list.
func checkEntryValue(key, value []byte) error {
	switch {
	case bytes.Equal(key, chain.ChangesKey()):
		if len(value) == 0 {
			return nil
		}
		_, err := chain.DecodeChanges(value)
		return err
	case len(key) == 33 && key[0] == chain.SubjectRevocationKey(nil)[0]:
		if len(value) == 0 {
			return nil
		}
		r := new(chainpb.SubjectRevocation)
		if err := proto.Unmarshal(value, r); err != nil {
			return err
		}
		if !bytes.Equal(chain.SubjectRevocationKey(r.Subject), key) {
			return errors.New("the record is not the key's")
		}
		return nil
	case bytes.Equal(key, chain.AnchorsKey()):
		if len(value) == 0 {
			return nil
		}
		_, err := chain.DecodeAnchorSet(value)
		return err
	case len(key) > 33 && key[0] == chain.ClaimKey(nil, "")[0]:
		if len(value) == 0 {
			return nil
		}
		cs := new(chainpb.ClaimStatus)
		if err := proto.Unmarshal(value, cs); err != nil {
			return err
		}
		if !bytes.Equal(chain.ClaimKey(cs.Subject, cs.ClaimType), key) {
			return errors.New("the record is not the key's")
		}
		return nil
	default:
		return errors.New("not a key the feed carries")
	}
}
