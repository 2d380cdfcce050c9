package verifier_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/feed"
	"github.com/idledger/idledger/feed/feedpb"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/testca"
	"github.com/idledger/idledger/verifier"
)

// world is one running node with a feed publisher.
type world struct {
	e         *nodetest.Env
	rpc       *rpchttp.HTTP
	c         *client.Client
	feedAddrs []string
	seq       uint64
}

func start(t testing.TB) *world {
	t.Helper()
	e := nodetest.New(t, "feed-test")
	// The node publishes the feed itself, as `idledger start --feed-listen`.
	e.StartOptions.Feed = &node.FeedOptions{ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}}
	e.Start(t)
	nodetest.WaitHeight(context.Background(), t, e.URL, 2)
	rpc, err := rpchttp.New(e.URL, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(e.URL, client.WithPollInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return &world{e: e, rpc: rpc, c: c, feedAddrs: e.Node.FeedAddrs()}
}

func (w *world) attest(t testing.TB, name, claimType string) (*testca.Holder, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, id := w.e.Attest(ctx, t, w.c, name, claimType)
	w.seq++
	return h, id
}

func (w *world) revoke(t *testing.T, id []byte) int64 {
	t.Helper()
	body, err := chain.EncodeBody(&chainpb.TxBody{ChainId: w.e.ChainID, Signer: node.DefaultMemberID, Sequence: w.seq,
		Msg: &chainpb.TxBody_RevokeAttestation{RevokeAttestation: &chainpb.RevokeAttestation{AttestationId: id, Reason: "card lost"}}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := chain.EncodeTx(body, w.e.MemberKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := w.c.Submit(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	w.seq++
	return r.Height
}

func (w *world) checkpoint(t *testing.T, h int64) []byte {
	t.Helper()
	c, err := w.rpc.Commit(context.Background(), &h)
	if err != nil {
		t.Fatal(err)
	}
	return c.SignedHeader.Hash()
}

func runVerifier(t *testing.T, o verifier.Options) (*verifier.Verifier, func()) {
	t.Helper()
	if o.SyncInterval == 0 {
		o.SyncInterval = 200 * time.Millisecond
	}
	o.Logger = testLogger
	ctx, cancel := context.WithCancel(context.Background())
	v, err := verifier.New(ctx, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("verifier run: %v", err)
		}
	}
	return v, stop
}

// waitState waits until the store says want for (subject, claim type).
func waitState(t *testing.T, dir string, subject []byte, claimType string, want chain.ClaimState) *verifier.Answer {
	t.Helper()
	s, err := verifier.ReadStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var a *verifier.Answer
	for time.Now().Before(deadline) {
		a, err = verifier.Check(s, subject, claimType, time.Now())
		if err == nil && a.State == want {
			return a
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("state of %x/%s = %+v, %v; want %s", subject, claimType, a, err, want)
	return nil
}

func subjectOf(h *testca.Holder) []byte {
	s := chainCommitment(h)
	return s[:]
}

func TestFeed(t *testing.T) {
	w := start(t)
	dir := t.TempDir()
	peers := w.feedAddrs

	// A verifier anchored at block 1 over gossipsub.
	v, stop := runVerifier(t, verifier.Options{Dir: dir, Peers: peers, TrustHeight: 1, TrustHash: w.checkpoint(t, 1)})
	if v.ChainID() != "feed-test" {
		t.Fatalf("chain = %q", v.ChainID())
	}
	alice, id := w.attest(t, "alice", "kyc")
	a := waitState(t, dir, subjectOf(alice), "kyc", chain.StateValid)
	if !a.Complete || a.RecordHeight <= 0 {
		t.Errorf("answer = %+v", a)
	}
	s, _ := verifier.ReadStore(dir)
	if an, err := s.Anchors(); err != nil || len(an) != 1 {
		t.Errorf("anchors = %v, %v", an, err)
	}

	// A revocation reaches the verifier within a few blocks of its commit.
	w.revoke(t, id)
	st, _ := w.rpc.Status(context.Background())
	committed := st.SyncInfo.LatestBlockHeight
	a = waitState(t, dir, subjectOf(alice), "kyc", chain.StateRevoked)
	if a.KnownHeight > committed+5 {
		t.Errorf("revocation seen at height %d, committed by %d", a.KnownHeight, committed)
	}

	// Stopped for a while, the verifier catches up after a restart (no
	// checkpoint flags needed: the store has it).
	stop()
	bob, _ := w.attest(t, "bob", "kyc")
	nodetest.WaitHeight(context.Background(), t, w.e.URL, committed+8)
	_, stop = runVerifier(t, verifier.Options{Dir: dir, Peers: peers})
	waitState(t, dir, subjectOf(bob), "kyc", chain.StateValid)
	stop()

	// The same from the RPC alone, no peers.
	_, stop = runVerifier(t, verifier.Options{Dir: dir, RPC: w.e.URL})
	carol, _ := w.attest(t, "carol", "kyc")
	waitState(t, dir, subjectOf(carol), "kyc", chain.StateValid)
	stop()

	// Another checkpoint on the same store is refused.
	if _, err := verifier.New(context.Background(), verifier.Options{Dir: dir, Peers: peers, TrustHeight: 2, TrustHash: w.checkpoint(t, 2)}); err == nil {
		t.Error("a second checkpoint was accepted")
	}

	t.Run("refusals", func(t *testing.T) { refusals(t, w, alice) })
}

// refusals checks that tampered and forged updates built from the real
// chain are refused.
func refusals(t *testing.T, w *world, alice *testca.Holder) {
	ctx := context.Background()
	// Find the block whose update carries alice's record.
	st, _ := w.rpc.Status(ctx)
	var u *feed.Update
	var trusted *verifier.LightState
	for h := int64(2); h <= st.SyncInfo.LatestBlockHeight && u == nil; h++ {
		prev := build(t, w, h-1)
		cur := build(t, w, h)
		for _, e := range cur.Entries {
			if bytes.Equal(e.Key, chain.ClaimKey(subjectOf(alice), "kyc")) {
				u, trusted = cur, &verifier.LightState{Header: prev.Header, Validators: prev.Validators}
			}
		}
	}
	if u == nil {
		t.Fatal("no update carries alice's record")
	}
	p := verifier.DefaultParams()
	now := time.Now()
	if _, _, err := verifier.VerifyUpdate(trusted, u, p, now); err != nil {
		t.Fatalf("genuine update refused: %v", err)
	}
	// An absence proof of a made-up key, free from any node: a valid
	// entry the block did not change.
	fake := chain.ClaimKey(bytes.Repeat([]byte{0xee}, 32), "made-up")
	q, err := w.rpc.ABCIQueryWithOptions(ctx, chain.PathKey, fake, rpcclient.ABCIQueryOptions{Height: u.Height - 1, Prove: true})
	if err != nil || q.Response.ProofOps == nil || len(q.Response.ProofOps.Ops) != 1 {
		t.Fatalf("absence proof: %v %+v", err, q)
	}
	pad := &feedpb.FeedEntry{Key: fake, Proof: q.Response.ProofOps.Ops[0].Data}
	for name, tamper := range map[string]func(*feedpb.FeedUpdate){
		"padded with a key the block did not change": func(m *feedpb.FeedUpdate) {
			m.Entries = append(m.Entries, pad)
			slices.SortFunc(m.Entries, func(a, b *feedpb.FeedEntry) int { return bytes.Compare(a.Key, b.Key) })
		},
		"tampered value": func(m *feedpb.FeedUpdate) {
			for _, e := range m.Entries {
				if e.Key[0] == chain.ClaimKey(nil, "")[0] {
					e.Value = append(bytes.Clone(e.Value), 0x18, 0x01)
				}
			}
		},
		"value of another key": func(m *feedpb.FeedUpdate) {
			last := m.Entries[len(m.Entries)-1]
			last.Key = append(bytes.Clone(last.Key), 'x')
		},
		"deleted entry claimed": func(m *feedpb.FeedUpdate) {
			m.Entries[len(m.Entries)-1].Value = nil
		},
		"forged header": func(m *feedpb.FeedUpdate) {
			sh, _ := feed.DecodeSignedHeader(m.SignedHeader)
			sh.AppHash = bytes.Repeat([]byte{7}, 32)
			sh.Commit.BlockID.Hash = sh.Header.Hash()
			m.SignedHeader, _ = feed.EncodeSignedHeader(sh)
		},
		"wrong chain": func(m *feedpb.FeedUpdate) { m.ChainId = "other" },
	} {
		m := toProto(t, u)
		tamper(m)
		raw, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		bad, err := feed.DecodeUpdate(raw)
		if err != nil {
			continue // refused already at decoding
		}
		if _, _, err := verifier.VerifyUpdate(trusted, bad, p, now); !errors.Is(err, verifier.ErrRefused) {
			t.Errorf("%s: err = %v, want a refusal", name, err)
		}
	}
	// A header from beyond the trusting period's reach is refused.
	if _, _, err := verifier.VerifyUpdate(trusted, u, p, now.Add(p.TrustingPeriod+time.Hour)); !errors.Is(err, verifier.ErrRefused) {
		t.Errorf("expired trust: err = %v", err)
	}
	// A gap is not a refusal.
	if _, _, err := verifier.VerifyUpdate(&verifier.LightState{Header: build(t, w, 1).Header, Validators: trusted.Validators}, u, p, now); !errors.Is(err, verifier.ErrGap) && u.Height > 2 {
		t.Errorf("gap: err = %v", err)
	}
}
