package verifier_test

import (
	"context"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/verifier"
)

// TestCheckpointFromTwoRPCServers: with no checkpoint flags and two RPC
// servers, a new store anchors on the recent block they agree on instead of
// block 1, and follows the chain from there.
func TestCheckpointFromTwoRPCServers(t *testing.T) {
	w := start(t)
	nodetest.WaitHeight(context.Background(), t, w.e.URL, 6)
	u, err := url.Parse(w.e.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(u)) // a second server of the same chain
	defer proxy.Close()

	dir := t.TempDir()
	v, stop := runVerifier(t, verifier.Options{Dir: dir, Peers: w.feedAddrs, RPCs: []string{w.e.URL, proxy.URL}})
	defer stop()
	alice, _ := w.attest(t, "alice", "kyc")
	a := waitState(t, dir, subjectOf(alice), "kyc", chain.StateValid)
	s, _ := verifier.ReadStore(dir)
	head, _, err := s.Head()
	if err != nil {
		t.Fatal(err)
	}
	if head.CheckpointHeight < 3 || a.Complete {
		t.Errorf("checkpoint %d (complete %v): want a recent block, not the first", head.CheckpointHeight, a.Complete)
	}
	if v.Status().VerifiedThrough < head.CheckpointHeight {
		t.Errorf("status %+v", v.Status())
	}
}
