package verifier_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/feed"
	"github.com/idledger/idledger/feed/feedpb"
	"github.com/idledger/idledger/verifier"
)

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestFloodJunkAndOversizedMessages: an attacker floods a verifier and a
// feed host over gossip with junk, oversized messages and well-formed
// forgeries of future blocks, and the feed host's sync protocol with junk,
// oversized frames and a burst of requests. The verifier's pending buffer
// stays within its byte bound, the process's heap stays bounded, the sync
// protocol refuses the burst, and honest updates still arrive.
func TestFloodJunkAndOversizedMessages(t *testing.T) {
	w := start(t)
	dir := t.TempDir()
	const maxPending = 2 << 20
	v, stop := runVerifier(t, verifier.Options{Dir: dir, Peers: w.feedAddrs, TrustHeight: 1, TrustHash: w.checkpoint(t, 1), MaxPendingBytes: maxPending})
	defer stop()
	t00 := time.Now()
	alice, _ := w.attest(t, "alice", "kyc")
	t.Logf("alice attested after %s", time.Since(t00))
	waitState(t, dir, subjectOf(alice), "kyc", chain.StateValid)
	t.Logf("alice valid after %s", time.Since(t00))
	before := heapInUse()

	// The attacker: a libp2p host with a gossipsub that sends anything.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ah, err := feed.NewHost(feed.HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ah.Close()
	aps, err := pubsub.NewGossipSub(ctx, ah, pubsub.WithMessageSignaturePolicy(pubsub.StrictSign), pubsub.WithMaxMessageSize(8<<20))
	if err != nil {
		t.Fatal(err)
	}
	topic, err := aps.Join(feed.Topic(w.e.ChainID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := topic.Subscribe(); err != nil {
		t.Fatal(err)
	}
	feedID := connectTo(t, ah, w.feedAddrs[0])
	connectTo(t, ah, v.Addrs()[0])
	deadline := time.Now().Add(30 * time.Second)
	for len(topic.ListPeers()) < 1 && time.Now().Before(deadline) { // the verifier subscribes (publishers only publish)
		time.Sleep(50 * time.Millisecond)
	}

	t0 := time.Now()
	// Forgeries: a real update re-labelled as the coming blocks, padded to
	// just under the gossip limit; they decode, but their commits do not
	// verify, so the verifier refuses them at once rather than holding them
	// for their turn (where they would crowd out the real blocks).
	real := toProto(t, build(t, w, 3))
	forge := func(height int64) []byte {
		return relabel(t, real, height, func(m *feedpb.FeedUpdate) {
			m.Entries = nil
			for i := 0; i < 4; i++ {
				subject := bytes.Repeat([]byte{byte(i + 1)}, 32)
				m.Entries = append(m.Entries, &feedpb.FeedEntry{Key: chain.ClaimKey(subject, "pad"), Value: make([]byte, 60<<10), Proof: make([]byte, 10<<10)})
			}
		})
	}
	junk := make([]byte, 4<<10)
	oversized := make([]byte, 3<<20)
	peak := 0
	next := v.Height() + 2
	// Paced, so that each message travels in an RPC of its own (gossipsub
	// drops a whole RPC over the size limit).
	// Forgeries first (they look like the coming blocks), then junk and
	// oversized messages; each gets the attacker scored down and banned.
	for i := 0; i < 60; i++ {
		_ = topic.Publish(ctx, forge(next+int64(i)))
		time.Sleep(10 * time.Millisecond)
		peak = max(peak, v.PendingBytes())
	}
	for i := 0; i < 60; i++ {
		rand.Read(junk)
		_ = topic.Publish(ctx, bytes.Clone(junk))
		time.Sleep(5 * time.Millisecond)
		peak = max(peak, v.PendingBytes())
	}
	for i := 0; i < 3; i++ { // each kills the stream it travels on
		_ = topic.Publish(ctx, oversized)
		time.Sleep(10 * time.Millisecond)
	}

	t.Logf("gossip flood: %s", time.Since(t0))
	// The sync protocol: junk, an oversized frame, then a burst of requests.
	refusedOrBad := 0
	for i := 0; i < 5; i++ {
		s, err := ah.NewStream(ctx, feedID, feed.SyncProtocol(w.e.ChainID))
		if err != nil {
			continue
		}
		if i%2 == 0 {
			_, _ = s.Write(binary.AppendUvarint(nil, 1<<30))
		}
		_, _ = s.Write(junk)
		_ = s.CloseWrite()
		buf := make([]byte, 1<<10)
		_, _ = s.Read(buf)
		_ = s.Reset()
	}
	t.Logf("sync junk: %s", time.Since(t0))
	// The burst is sent all at once; the bucket refills at SyncRate a
	// second while it lasts, so the allowance grows with the time taken.
	var (
		mu       sync.Mutex
		answered int
		wg       sync.WaitGroup
	)
	began := time.Now()
	for i := 0; i < 3*feed.SyncBurst; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ups, _, err := feed.Sync(ctx, ah, feedID, w.e.ChainID, 2, 2)
			mu.Lock()
			defer mu.Unlock()
			if err == nil && len(ups) > 0 {
				answered++
			} else {
				refusedOrBad++
			}
		}()
	}
	wg.Wait()
	allowance := feed.SyncBurst + int(feed.SyncRate*(time.Since(began).Seconds()+1))
	if answered > allowance || refusedOrBad == 0 {
		t.Errorf("a burst of %d sync requests: %d answered, %d refused; want at most %d answered (the per-peer limit)", 3*feed.SyncBurst, answered, refusedOrBad, allowance)
	}
	peak = max(peak, v.PendingBytes())
	if peak > maxPending || v.PendingBytes() > maxPending {
		t.Errorf("pending buffer peaked at %d bytes, over its bound of %d", peak, maxPending)
	}
	if peak >= 200<<10 {
		t.Errorf("pending buffer peaked at %d bytes: forgeries were held (a forgery is over 240 KiB)", peak)
	}

	t.Logf("sync burst: %s (%d answered, %d refused)", time.Since(t0), answered, refusedOrBad)
	// The forgeries and the junk scored the attacker down and got it
	// banned.
	punished := func() bool { return v.GossipScore(ah.ID()) < 0 && slices.Contains(v.Banned(), ah.ID()) }
	for deadline := time.Now().Add(30 * time.Second); !punished() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if !punished() {
		t.Errorf("the attacker's gossip score is %v, banned %v; want below zero and banned", v.GossipScore(ah.ID()), v.Banned())
	}
	// Honest updates still arrive.
	bob, _ := w.attest(t, "bob", "kyc")
	t.Logf("attested: %s, verifier %+v", time.Since(t0), v.Status())
	waitState(t, dir, subjectOf(bob), "kyc", chain.StateValid)
	after := heapInUse()
	if grow := int64(after) - int64(before); grow > 64<<20 {
		t.Errorf("heap in use grew by %d MiB under the flood", grow>>20)
	}
}

func connectTo(t *testing.T, h interface {
	Connect(context.Context, peer.AddrInfo) error
}, addr string) peer.ID {
	t.Helper()
	ai, err := peer.AddrInfoFromString(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Connect(ctx, *ai); err != nil {
		t.Fatal(err)
	}
	return ai.ID
}
