package valsigner

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/cometbft/cometbft/crypto"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/libs/protoio"
	"github.com/cometbft/cometbft/privval"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"
)

// Steps of the sign state, as CometBFT's file signer numbers them.
const (
	StepPropose   int8 = 1
	StepPrevote   int8 = 2
	StepPrecommit int8 = 3
)

// ErrDoubleSign is returned (wrapped) by SignVote and SignProposal when the
// request is at a height, round and step at or below the last one signed
// and is not the same message: signing it could be a double sign.
var ErrDoubleSign = errors.New("valsigner: refusing to sign: possible double sign")

// State is the last signed height, round, step and what was signed there.
// Its JSON form is CometBFT's priv_validator_state.json.
type State struct {
	Height    int64  `json:"height,string"`
	Round     int32  `json:"round"`
	Step      int8   `json:"step"`
	Signature []byte `json:"signature,omitempty"`
	SignBytes []byte `json:"signbytes,omitempty"`
}

// ParseState decodes a sign-state file's content.
func ParseState(b []byte) (State, error) {
	var lss privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(b, &lss); err != nil {
		return State{}, fmt.Errorf("valsigner: sign state: %w", err)
	}
	st := State{Height: lss.Height, Round: lss.Round, Step: lss.Step, Signature: lss.Signature, SignBytes: lss.SignBytes}
	if st.Height < 0 || st.Round < 0 || st.Step < 0 || st.Step > StepPrecommit {
		return State{}, fmt.Errorf("valsigner: sign state: height %d round %d step %d out of range", st.Height, st.Round, st.Step)
	}
	if len(st.SignBytes) > 0 && len(st.Signature) == 0 {
		return State{}, errors.New("valsigner: sign state: sign bytes without a signature")
	}
	return st, nil
}

func (s State) encode() ([]byte, error) {
	lss := privval.FilePVLastSignState{Height: s.Height, Round: s.Round, Step: s.Step, Signature: s.Signature, SignBytes: s.SignBytes}
	return cmtjson.MarshalIndent(&lss, "", "  ")
}

// Signer is a types.PrivValidator over a key file and a sign-state file,
// safe for concurrent use.
type Signer struct {
	key       crypto.PrivKey
	statePath string
	lock      *os.File // STATE.lock, flock'ed while the signer is open

	mu    sync.Mutex
	state State
}

var _ types.PrivValidator = (*Signer)(nil)

// Open loads the key file (CometBFT's priv_validator_key.json format) and
// the sign-state file. A missing state file starts from zero and is
// created; any other problem with either file is an error.
func Open(keyPath, statePath string) (*Signer, error) {
	b, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("valsigner: validator key: %w", err)
	}
	var key privval.FilePVKey
	if err := cmtjson.Unmarshal(b, &key); err != nil || key.PrivKey == nil {
		return nil, fmt.Errorf("valsigner: validator key %s does not decode: %v", keyPath, err)
	}
	if !key.PrivKey.PubKey().Equals(key.PubKey) {
		return nil, fmt.Errorf("valsigner: validator key %s: the public key does not match the private key", keyPath)
	}
	lock, err := lockState(statePath)
	if err != nil {
		return nil, err
	}
	s := &Signer{key: key.PrivKey, statePath: statePath, lock: lock}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	b, err = os.ReadFile(statePath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := s.save(State{}); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("valsigner: sign state: %w", err)
	default:
		if s.state, err = ParseState(b); err != nil {
			return nil, fmt.Errorf("%w (%s)", err, statePath)
		}
	}
	ok = true
	return s, nil
}

// ErrStateLocked is returned by Open when another signer holds the sign
// state: two signers for one validator could sign conflicting votes.
var ErrStateLocked = errors.New("valsigner: the sign state is in use by another signer")

// lockState takes an exclusive lock on STATE.lock beside the state file.
func lockState(statePath string) (*os.File, error) {
	f, err := os.OpenFile(statePath+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("valsigner: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s.lock)", ErrStateLocked, statePath)
		}
		return nil, fmt.Errorf("valsigner: locking %s.lock: %w", statePath, err)
	}
	return f, nil
}

// Close releases the sign state's lock.
func (s *Signer) Close() error {
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}

// State returns the last signed state.
func (s *Signer) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// GetPubKey returns the validator's public key.
func (s *Signer) GetPubKey() (crypto.PubKey, error) { return s.key.PubKey(), nil }

func voteStep(t cmtproto.SignedMsgType) (int8, error) {
	switch t {
	case cmtproto.PrevoteType:
		return StepPrevote, nil
	case cmtproto.PrecommitType:
		return StepPrecommit, nil
	}
	return 0, fmt.Errorf("valsigner: unknown vote type %v", t)
}

// check compares (h, r, step) with the last signed state: it returns
// whether it is the same HRS (then the caller may only re-sign the same
// message), or an error for a regression.
func (s *Signer) check(h int64, r int32, step int8) (same bool, err error) {
	st := s.state
	switch {
	case h < st.Height:
		return false, fmt.Errorf("%w: height %d is below the last signed height %d", ErrDoubleSign, h, st.Height)
	case h > st.Height:
		return false, nil
	case r < st.Round:
		return false, fmt.Errorf("%w: round %d at height %d is below the last signed round %d", ErrDoubleSign, r, h, st.Round)
	case r > st.Round:
		return false, nil
	case step < st.Step:
		return false, fmt.Errorf("%w: step %d at height %d round %d is below the last signed step %d", ErrDoubleSign, step, h, r, st.Step)
	case step > st.Step:
		return false, nil
	}
	if len(st.SignBytes) == 0 {
		return false, fmt.Errorf("%w: height %d round %d step %d was signed but the state keeps no sign bytes", ErrDoubleSign, h, r, step)
	}
	return true, nil
}

// SignVote signs a prevote or precommit unless it conflicts with what was
// signed before. A request for the same vote again (a node that restarted
// before writing its vote to its WAL) gets the same signature; one that
// differs only in its timestamp gets the earlier timestamp and signature.
func (s *Signer) SignVote(chainID string, vote *cmtproto.Vote) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	step, err := voteStep(vote.Type)
	if err != nil {
		return err
	}
	same, err := s.check(vote.Height, vote.Round, step)
	if err != nil {
		return err
	}
	signBytes := types.VoteSignBytes(chainID, vote)
	var extSig []byte
	if vote.Type == cmtproto.PrecommitType && !types.ProtoBlockIDIsNil(&vote.BlockID) {
		if extSig, err = s.key.Sign(types.VoteExtensionSignBytes(chainID, vote)); err != nil {
			return fmt.Errorf("valsigner: %w", err)
		}
	} else if len(vote.Extension) > 0 {
		return errors.New("valsigner: a vote extension is only allowed in a non-nil precommit")
	}
	if same {
		ts, ok := sameVoteButTime(s.state.SignBytes, signBytes)
		if !ok {
			return fmt.Errorf("%w: a different vote at height %d round %d step %d was signed already", ErrDoubleSign, vote.Height, vote.Round, step)
		}
		vote.Timestamp = ts
		vote.Signature = s.state.Signature
		vote.ExtensionSignature = extSig
		return nil
	}
	sig, err := s.key.Sign(signBytes)
	if err != nil {
		return fmt.Errorf("valsigner: %w", err)
	}
	if err := s.save(State{Height: vote.Height, Round: vote.Round, Step: step, Signature: sig, SignBytes: signBytes}); err != nil {
		return err
	}
	vote.Signature = sig
	vote.ExtensionSignature = extSig
	return nil
}

// SignProposal signs a proposal unless it conflicts with what was signed
// before, with the same rules as SignVote.
func (s *Signer) SignProposal(chainID string, p *cmtproto.Proposal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	same, err := s.check(p.Height, p.Round, StepPropose)
	if err != nil {
		return err
	}
	signBytes := types.ProposalSignBytes(chainID, p)
	if same {
		ts, ok := sameProposalButTime(s.state.SignBytes, signBytes)
		if !ok {
			return fmt.Errorf("%w: a different proposal at height %d round %d was signed already", ErrDoubleSign, p.Height, p.Round)
		}
		p.Timestamp = ts
		p.Signature = s.state.Signature
		return nil
	}
	sig, err := s.key.Sign(signBytes)
	if err != nil {
		return fmt.Errorf("valsigner: %w", err)
	}
	if err := s.save(State{Height: p.Height, Round: p.Round, Step: StepPropose, Signature: sig, SignBytes: signBytes}); err != nil {
		return err
	}
	p.Signature = sig
	return nil
}

// sameVoteButTime reports whether two length-delimited canonical votes
// are equal but for their timestamps, and returns the older one's.
func sameVoteButTime(old, cur []byte) (time.Time, bool) {
	var a, b cmtproto.CanonicalVote
	if protoio.UnmarshalDelimited(old, &a) != nil || protoio.UnmarshalDelimited(cur, &b) != nil {
		return time.Time{}, false
	}
	ts := a.Timestamp
	b.Timestamp = ts
	return ts, sameEncoding(&a, &b)
}

// sameProposalButTime is sameVoteButTime for proposals.
func sameProposalButTime(old, cur []byte) (time.Time, bool) {
	var a, b cmtproto.CanonicalProposal
	if protoio.UnmarshalDelimited(old, &a) != nil || protoio.UnmarshalDelimited(cur, &b) != nil {
		return time.Time{}, false
	}
	ts := a.Timestamp
	b.Timestamp = ts
	return ts, sameEncoding(&a, &b)
}

// sameEncoding reports whether two canonical messages encode alike
// (gogoproto's encoding is deterministic for these).
func sameEncoding(a, b interface{ Marshal() ([]byte, error) }) bool {
	x, err1 := a.Marshal()
	y, err2 := b.Marshal()
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// save writes st crash-safe and only then adopts it.
func (s *Signer) save(st State) error {
	b, err := st.encode()
	if err != nil {
		return fmt.Errorf("valsigner: %w", err)
	}
	if err := writeFileAtomic(s.statePath, b, 0o600); err != nil {
		return fmt.Errorf("valsigner: saving the sign state (nothing signed): %w", err)
	}
	s.state = st
	return nil
}

// writeFileAtomic writes b to path through a temporary file in the same
// directory, synced, renamed over path, and the directory synced: after a
// crash path holds either the old content or b.
func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
