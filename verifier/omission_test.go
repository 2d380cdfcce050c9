package verifier_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/verifier"
)

// TestOmissionWithheldRevocationStallsVerifier: a feed peer that leaves one
// revocation out of its answers cannot make a verifier believe the holder
// is still valid past the revocation's block. The verifier stays at the
// block before it, says it is stuck and, once its age passes the gate's
// maximum staleness, answers unknown; with an honest peer added it
// completes and answers revoked.
//
// Run with IDLEDGER_TEST_OLD_FEED_DESIGN=1 (updates taken without their
// change list) it fails: the verifier skips past the withheld revocation.
func TestOmissionWithheldRevocationStallsVerifier(t *testing.T) {
	w := start(t)
	dir := t.TempDir()
	l := startLiar(t, w)
	alice, id := w.attest(t, "alice", "kyc")
	key := chain.ClaimKey(subjectOf(alice), "kyc")

	v, stop := runVerifier(t, verifier.Options{Dir: dir, Peers: l.addrs(), TrustHeight: 1, TrustHash: w.checkpoint(t, 1)})
	waitState(t, dir, subjectOf(alice), "kyc", chain.StateValid)

	// From now on the liar withholds alice's record: the revocation.
	l.dropKey(key)
	revokedAt := w.revoke(t, id)
	nodetest.WaitHeight(context.Background(), t, w.e.URL, revokedAt+5)

	// The verifier cannot pass block revokedAt and says why.
	deadline := time.Now().Add(60 * time.Second)
	var st verifier.Status
	for time.Now().Before(deadline) {
		st = v.Status()
		if st.VerifiedThrough >= revokedAt || (st.Incomplete != nil && len(st.Banned) > 0) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.VerifiedThrough >= revokedAt {
		s, _ := verifier.ReadStore(dir)
		a, _ := verifier.Check(s, subjectOf(alice), "kyc", time.Now())
		t.Fatalf("the verifier advanced to block %d past the withheld revocation of block %d (answers %q)", st.VerifiedThrough, revokedAt, a.State)
	}
	if st.Incomplete == nil || st.Incomplete.Height != revokedAt+1 || st.VerifiedThrough != revokedAt-1 {
		t.Fatalf("status = %+v, want stuck before update %d (verified through %d)", st, revokedAt+1, revokedAt-1)
	}
	if len(st.Banned) != 1 || st.Banned[0] != l.host.ID() {
		t.Errorf("banned %v, want the liar %s", st.Banned, l.host.ID())
	}
	// More blocks come; the verifier stays put and its age grows.
	nodetest.WaitHeight(context.Background(), t, w.e.URL, revokedAt+8)
	if got := v.Status(); got.VerifiedThrough != revokedAt-1 {
		t.Fatalf("verified through %d, want still %d", got.VerifiedThrough, revokedAt-1)
	}
	stop()

	// A gate with a maximum staleness answers unknown once the store's age
	// passes it, never valid.
	s, err := verifier.ReadStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := verifier.CheckFresh(s, subjectOf(alice), "kyc", st.HeaderTime.Add(2*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if a.State != verifier.StateUnknown || !a.Stale || a.VerifiedThrough != revokedAt-1 {
		t.Fatalf("stale gate answer = %+v, want unknown and stale", a)
	}

	// An honest peer added: the verifier completes the block and sees the
	// revocation.
	_, stop = runVerifier(t, verifier.Options{Dir: dir, Peers: append(l.addrs(), w.feedAddrs...)})
	defer stop()
	a = waitState(t, dir, subjectOf(alice), "kyc", chain.StateRevoked)
	if a.VerifiedThrough < revokedAt {
		t.Errorf("revoked answer verified through %d, before the revocation's block %d", a.VerifiedThrough, revokedAt)
	}
}

// TestOmissionOverGossipRejectedAndScored: a feed peer gossips the chain's
// updates but leaves a revocation out of one. The verifier's gossipsub
// validator rejects that update (it is not forwarded), the verifier stays
// before the revocation's block, gossipsub scores the peer down and the
// verifier bans and disconnects it.
func TestOmissionOverGossipRejectedAndScored(t *testing.T) {
	w := start(t)
	dir := t.TempDir()
	alice, id := w.attest(t, "alice", "kyc")
	key := chain.ClaimKey(subjectOf(alice), "kyc")
	if st, err := w.rpc.Status(context.Background()); err == nil {
		nodetest.WaitHeight(context.Background(), t, w.e.URL, st.SyncInfo.LatestBlockHeight+2)
	}
	// Its one source besides the liar's gossip is the node's RPC, read once
	// at the start (the sync interval is longer than the test).
	v, stop := runVerifier(t, verifier.Options{Dir: dir, RPC: w.e.URL, TrustHeight: 1, TrustHash: w.checkpoint(t, 1), SyncInterval: time.Hour})
	defer stop()
	waitState(t, dir, subjectOf(alice), "kyc", chain.StateValid)

	l := startGossipLiar(t, w)
	connectTo(t, l.host, v.Addrs()[0])
	for deadline := time.Now().Add(30 * time.Second); len(l.topic.ListPeers()) == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.run(ctx, w, v.Height()+1)
	// The verifier follows the liar's gossip while it is complete.
	st, _ := w.rpc.Status(ctx)
	following := st.SyncInfo.LatestBlockHeight + 2
	for deadline := time.Now().Add(60 * time.Second); v.Status().VerifiedThrough < following && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if got := v.Status().VerifiedThrough; got < following {
		t.Fatalf("not following the gossip: verified through %d, want %d", got, following)
	}

	l.drop.Store(&key)
	revokedAt := w.revoke(t, id)
	nodetest.WaitHeight(ctx, t, w.e.URL, revokedAt+5)
	punished := func() bool { return v.GossipScore(l.host.ID()) < 0 && slices.Contains(v.Banned(), l.host.ID()) }
	for deadline := time.Now().Add(60 * time.Second); !punished() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	s := v.Status()
	if s.VerifiedThrough != revokedAt-1 || s.Incomplete == nil || s.Incomplete.Height != revokedAt+1 {
		t.Fatalf("status %+v: want stuck before update %d", s, revokedAt+1)
	}
	if !punished() {
		t.Errorf("the omitting peer's gossip score is %v, banned %v; want below zero and banned", v.GossipScore(l.host.ID()), v.Banned())
	}
	if len(v.Host().Network().ConnsToPeer(l.host.ID())) != 0 {
		t.Error("the omitting peer is still connected")
	}
}
