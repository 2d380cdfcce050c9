package verifier_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/feed"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/verifier"
)

// TestFloodForgedFutureUpdatesCannotCrowdOutRealOnes: a peer gossips
// well-formed updates for every coming height the verifier would hold
// (MaxPending of them), with headers no validator signed. The verifier
// rejects each (so gossipsub scores the sender down) and bans the sender,
// holds none, and still holds the real updates for those heights when they
// arrive. Before, it held the forgeries for their turn and ignored the real
// ones as duplicates.
func TestFloodForgedFutureUpdatesCannotCrowdOutRealOnes(t *testing.T) {
	w := start(t)
	nodetest.WaitHeight(context.Background(), t, w.e.URL, 6)
	base := build(t, w, 2)
	trusted := &verifier.LightState{Header: base.Header, Validators: base.Validators}
	h, err := feed.NewHost(feed.HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	v := verifier.NewPendingTester(h, trusted, w.e.ChainID, 64<<20)

	real3, real4, real5 := build(t, w, 3), build(t, w, 4), build(t, w, 5)
	forge := func(height int64) []byte { return relabel(t, toProto(t, real3), height, nil) }
	attacker := peer.ID("forger")
	for height := int64(4); height <= trusted.Height()+verifier.MaxPending; height++ {
		if got := v.Validate(attacker, forge(height)); got != pubsub.ValidationReject {
			t.Fatalf("forgery for %d: %v, want reject", height, got)
		}
		if v.Pending(height) != nil {
			t.Fatalf("forgery for %d held", height)
		}
	}
	// A tampered real update (a record's value changed) is refused too.
	m := toProto(t, real5)
	m.Entries[len(m.Entries)-1].Value = append(bytes.Clone(m.Entries[len(m.Entries)-1].Value), 0x18, 0x01)
	tampered, _ := proto.Marshal(m)
	if got := v.Validate(attacker, tampered); got != pubsub.ValidationReject || v.Pending(5) != nil {
		t.Fatalf("tampered update for 5: %v, held %v", got, v.Pending(5) != nil)
	}
	for deadline := time.Now().Add(30 * time.Second); !v.Banned(attacker) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !v.Banned(attacker) {
		t.Error("the forger is not banned")
	}
	// The real updates for those heights are held for their turn.
	honest := peer.ID("honest")
	for _, u := range []*feed.Update{real4, real5} {
		if got := v.Validate(honest, u.Raw); got != pubsub.ValidationIgnore {
			t.Fatalf("real update %d: %v, want ignore (held, not forwarded yet)", u.Height, got)
		}
		if p := v.Pending(u.Height); p == nil || !bytes.Equal(p.Header.Hash(), u.Header.Hash()) {
			t.Fatalf("real update %d not held", u.Height)
		}
	}
	if v.Banned(honest) {
		t.Error("the honest peer is banned")
	}
}
