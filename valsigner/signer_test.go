package valsigner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/privval"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"

	"github.com/idledger/idledger/internal/testutil"
)

const testChain = "valsigner-test"

var freeAddr = testutil.FreeAddr

// openSigner opens a signer on a new key and sign state, closed when the
// test ends.
func openSigner(t *testing.T) *Signer {
	t.Helper()
	keyPath, statePath := genKey(t)
	s, err := Open(keyPath, statePath, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func genKey(t testing.TB) (keyPath, statePath string) {
	t.Helper()
	dir := t.TempDir()
	keyPath, statePath = filepath.Join(dir, "priv_validator_key.json"), filepath.Join(dir, "priv_validator_state.json")
	privval.GenFilePV(keyPath, statePath).Save()
	return keyPath, statePath
}

func vote(h int64, r int32, typ cmtproto.SignedMsgType, block byte) *cmtproto.Vote {
	v := &cmtproto.Vote{Type: typ, Height: h, Round: r, Timestamp: time.Unix(1_700_000_000, 0).UTC(),
		ValidatorAddress: make([]byte, 20)}
	if block != 0 {
		hash := make([]byte, 32)
		hash[0] = block
		v.BlockID = cmtproto.BlockID{Hash: hash, PartSetHeader: cmtproto.PartSetHeader{Total: 1, Hash: hash}}
	}
	return v
}

// runSigner runs Run in the background; the returned stop cancels it and
// waits for it to return.
func runSigner(t *testing.T, addr, keyPath, statePath string) (stop func()) {
	t.Helper()
	s, err := Open(keyPath, statePath, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunOptions{Node: "tcp://" + addr, ChainID: testChain, Signer: s, RetryWait: 50 * time.Millisecond})
	}()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		s.Close()
	}
}

// signVote asks the remote signer through the node's privval client,
// retrying transport errors (a reconnecting signer), not refusals.
func signVote(t *testing.T, c *privval.SignerClient, v *cmtproto.Vote) error {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := c.SignVote(testChain, v)
		var rse *privval.RemoteSignerError
		if err == nil || errors.As(err, &rse) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRemoteSignerDoubleSignRefusedAfterRestart runs the signer against a
// node-side privval listener, signs a prevote, restarts the signer from its
// files, and checks that a conflicting prevote at the same height and round
// and a vote at a lower height are refused, while the same vote gets the
// same signature and the next step is signed.
func TestRemoteSignerDoubleSignRefusedAfterRestart(t *testing.T) {
	keyPath, statePath := genKey(t)
	addr := freeAddr(t)
	ln, err := privval.NewSignerListener("tcp://"+addr, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	stop := runSigner(t, addr, keyPath, statePath)
	client, err := privval.NewSignerClient(ln, testChain) // starts the listener
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	pub, err := client.GetPubKey()
	if err != nil {
		t.Fatal(err)
	}

	first := vote(5, 0, cmtproto.PrevoteType, 0xaa)
	if err := signVote(t, client, first); err != nil {
		t.Fatalf("first prevote: %v", err)
	}
	if !pub.VerifySignature(types.VoteSignBytes(testChain, first), first.Signature) {
		t.Fatal("first prevote: bad signature")
	}
	stop()

	// The sign state is on disk before the signature was released.
	b, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := ParseState(b); err != nil || st.Height != 5 || st.Step != StepPrevote {
		t.Fatalf("state after the first vote: %+v, %v", st, err)
	}

	stop = runSigner(t, addr, keyPath, statePath)
	defer stop()

	conflicting := vote(5, 0, cmtproto.PrevoteType, 0xbb)
	err = signVote(t, client, conflicting)
	if err == nil || !strings.Contains(err.Error(), "double sign") {
		t.Fatalf("conflicting prevote after restart: got %v, want a double-sign refusal", err)
	}
	if len(conflicting.Signature) != 0 {
		t.Fatal("conflicting prevote carries a signature")
	}
	lower := vote(4, 3, cmtproto.PrecommitType, 0xaa)
	if err := signVote(t, client, lower); err == nil || !strings.Contains(err.Error(), "below the last signed height") {
		t.Fatalf("lower height: got %v, want a refusal", err)
	}
	again := vote(5, 0, cmtproto.PrevoteType, 0xaa)
	again.Timestamp = again.Timestamp.Add(time.Second)
	if err := signVote(t, client, again); err != nil {
		t.Fatalf("same prevote again: %v", err)
	}
	if string(again.Signature) != string(first.Signature) || !again.Timestamp.Equal(first.Timestamp) {
		t.Fatal("same prevote again: want the first signature and timestamp back")
	}
	next := vote(5, 0, cmtproto.PrecommitType, 0xaa)
	if err := signVote(t, client, next); err != nil {
		t.Fatalf("precommit: %v", err)
	}
	prop := &cmtproto.Proposal{Type: cmtproto.ProposalType, Height: 5, Round: 0, PolRound: -1, Timestamp: first.Timestamp, BlockID: first.BlockID}
	if err := client.SignProposal(testChain, prop); err == nil || !strings.Contains(err.Error(), "below the last signed step") {
		t.Fatalf("proposal at a step below the last signed: %v, want a refusal", err)
	}
}

func TestSignerRefusesWrongChain(t *testing.T) {
	keyPath, statePath := genKey(t)
	addr := freeAddr(t)
	ln, err := privval.NewSignerListener("tcp://"+addr, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	stop := runSigner(t, addr, keyPath, statePath)
	defer stop()
	client, err := privval.NewSignerClient(ln, "other-chain")
	if err == nil {
		defer client.Close()
		if _, err = client.GetPubKey(); err == nil {
			t.Fatal("a signer for another chain gave its key")
		}
	}
}

func TestSecondSignerRefused(t *testing.T) {
	keyPath, statePath := genKey(t)
	s, err := Open(keyPath, statePath, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(keyPath, statePath, OpenOptions{}); !errors.Is(err, ErrStateLocked) {
		t.Fatalf("a second signer on the same state: %v, want ErrStateLocked", err)
	}
	s.Close()
	s, err = Open(keyPath, statePath, OpenOptions{})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	s.Close()
}

func TestOpenRejectsBrokenFiles(t *testing.T) {
	keyPath, statePath := genKey(t)
	if err := os.WriteFile(statePath, []byte(`{"height":"-1","round":0,"step":0}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(keyPath, statePath, OpenOptions{}); err == nil {
		t.Fatal("negative height accepted")
	}
	if err := os.WriteFile(keyPath, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(keyPath, statePath, OpenOptions{}); err == nil {
		t.Fatal("empty key accepted")
	}
}

func TestParseAddr(t *testing.T) {
	for in, ok := range map[string]bool{
		"tcp://127.0.0.1:26659": true, "unix:///tmp/pv.sock": true,
		"127.0.0.1:26659": false, "http://x:1": false, "tcp://nohost": false, "unix://": false,
	} {
		if _, _, err := ParseAddr(in); (err == nil) != ok {
			t.Errorf("ParseAddr(%q): %v", in, err)
		}
	}
}

func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"height":"5","round":0,"step":2,"signature":"AAAA","signbytes":"00"}`))
	f.Add([]byte(`{"height":"0","round":0,"step":0}`))
	f.Add([]byte(`{"height":"1","round":-1,"step":9}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseState(b)
		if err != nil {
			return
		}
		if st.Height < 0 || st.Round < 0 || st.Step < 0 || st.Step > StepPrecommit {
			t.Fatalf("accepted %+v", st)
		}
		if _, err := st.encode(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSignerOverUnixSocket: the signer also dials a unix:// listener.
func TestSignerOverUnixSocket(t *testing.T) {
	keyPath, statePath := genKey(t)
	dir, err := os.MkdirTemp("", "pv") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "pv.sock")
	ln, err := privval.NewSignerListener("unix://"+sock, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(keyPath, statePath, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunOptions{Node: "unix://" + sock, ChainID: testChain, Signer: s, RetryWait: 50 * time.Millisecond})
	}()
	defer func() { cancel(); <-done }()
	client, err := privval.NewSignerClient(ln, testChain)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	v := vote(1, 0, cmtproto.PrecommitType, 0xaa)
	if err := signVote(t, client, v); err != nil {
		t.Fatal(err)
	}
	if pub, _ := s.GetPubKey(); !pub.VerifySignature(types.VoteSignBytes(testChain, v), v.Signature) || len(v.ExtensionSignature) == 0 {
		t.Fatal("bad precommit signature or no extension signature")
	}
}

// TestOpenRefusesMissingState: a key moved without its sign state would
// start at height 0 and could sign a conflicting vote at a height the
// validator signed already; Open refuses unless NewState says the
// validator never signed.
func TestOpenRefusesMissingState(t *testing.T) {
	keyPath, statePath := genKey(t)
	if err := os.Remove(statePath); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(keyPath, statePath, OpenOptions{}); !errors.Is(err, ErrNoState) || !strings.Contains(err.Error(), statePath) {
		t.Fatalf("Open without a state file: %v, want ErrNoState naming the file", err)
	}
	if _, err := os.Stat(statePath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused Open created the state file: %v", err)
	}
	missingDir := filepath.Join(t.TempDir(), "data", "state.json")
	if _, err := Open(keyPath, missingDir, OpenOptions{}); !errors.Is(err, ErrNoState) {
		t.Fatalf("Open with a missing state directory: %v, want ErrNoState", err)
	}

	s, err := Open(keyPath, statePath, OpenOptions{NewState: true})
	if err != nil {
		t.Fatalf("Open with NewState: %v", err)
	}
	if err := s.SignVote(testChain, vote(9, 0, cmtproto.PrevoteType, 0xaa)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The state now exists: it is used as it is, with or without NewState.
	for _, o := range []OpenOptions{{}, {NewState: true}} {
		s, err := Open(keyPath, statePath, o)
		if err != nil {
			t.Fatalf("reopen %+v: %v", o, err)
		}
		if st := s.State(); st.Height != 9 || st.Step != StepPrevote {
			t.Fatalf("reopen %+v: state %+v, want height 9 prevote", o, st)
		}
		s.Close()
	}
}
