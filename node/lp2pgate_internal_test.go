package node

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/lp2p"
	cmtp2p "github.com/cometbft/cometbft/p2p"
	"github.com/libp2p/go-libp2p/core/peer"
)

func freeUDPAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// newTestHost makes a CometBFT libp2p host on a free 127.0.0.1 port.
func newTestHost(t *testing.T) *lp2p.Host {
	t.Helper()
	cfg := cmtcfg.DefaultP2PConfig()
	cfg.ListenAddress = "tcp://" + freeUDPAddr(t)
	cfg.LibP2PConfig.Enabled = true
	h, err := lp2p.NewHost(cfg, cmted25519.GenPrivKey(), log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// TestLibP2PHostLayout breaks when CometBFT's libp2p switch no longer keeps
// its host where the gate looks for it (the gate then refuses to start the
// node, fail-closed; this test says so before a release does).
func TestLibP2PHostLayout(t *testing.T) {
	h := newTestHost(t)
	sw, err := lp2p.NewSwitch(cmtp2p.DefaultNodeInfo{}, h, nil, cmtp2p.NopMetrics(), log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	got, err := libp2pHost(sw)
	if err != nil {
		t.Fatalf("the gate cannot find the host of CometBFT's libp2p switch: %v", err)
	}
	if got != h {
		t.Fatal("the gate found another host than the switch's")
	}
	if _, err := libp2pHost(cmtp2p.NewSwitch(cmtcfg.DefaultP2PConfig(), nil)); err == nil {
		t.Fatal("libp2pHost accepted CometBFT's own switch")
	}
}

func connected(h *lp2p.Host, p peer.ID) bool { return len(h.Network().ConnsToPeer(p)) > 0 }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLibP2PGateNoStartupWindow: a peer that connected to the host before
// the gate was installed (the host listens from the moment CometBFT makes
// it) is disconnected when the gate is installed, and a later one is refused
// at once; an allowed peer of the same chain stays, one of another chain is
// disconnected after the chain ID exchange.
func TestLibP2PGateNoStartupWindow(t *testing.T) {
	a, early, late, friend, foreign := newTestHost(t), newTestHost(t), newTestHost(t), newTestHost(t), newTestHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := early.Connect(ctx, a.AddrInfo()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the early peer is connected", func() bool { return connected(a, early.ID()) })

	allowedIDs := map[string]bool{}
	for _, h := range []*lp2p.Host{a, friend, foreign} {
		id, err := nodeIDOfPeer(h.ID())
		if err != nil {
			t.Fatal(err)
		}
		allowedIDs[id] = true
	}
	var mu sync.Mutex
	allowed := func(id string) bool { mu.Lock(); defer mu.Unlock(); return allowedIDs[id] }
	installGate(a, "chain-a", allowed, log.NewNopLogger())
	installGate(friend, "chain-a", allowed, log.NewNopLogger())
	installGate(foreign, "chain-b", allowed, log.NewNopLogger())

	waitFor(t, "the early stranger is disconnected", func() bool { return !connected(a, early.ID()) })
	_ = late.Connect(ctx, a.AddrInfo())
	waitFor(t, "the late stranger is disconnected", func() bool { return !connected(a, late.ID()) })

	if err := friend.Connect(ctx, a.AddrInfo()); err != nil {
		t.Fatal(err)
	}
	_ = foreign.Connect(ctx, a.AddrInfo())
	waitFor(t, "the peer of another chain is disconnected", func() bool { return !connected(a, foreign.ID()) })
	// The friend's chain ID check has had as long as the foreign one's.
	time.Sleep(time.Second)
	if !connected(a, friend.ID()) {
		t.Fatal("an allowed peer of the same chain was disconnected")
	}
	// Membership changes: the friend is no longer allowed.
	mu.Lock()
	delete(allowedIDs, mustNodeID(t, friend.ID()))
	mu.Unlock()
	g := &libp2pGate{host: a, chainID: "chain-a", allowed: allowed, logger: log.NewNopLogger()}
	if n := g.recheck(); n != 1 {
		t.Errorf("recheck disconnected %d peers, want 1", n)
	}
	waitFor(t, "the removed peer is disconnected", func() bool { return !connected(a, friend.ID()) })
}

func mustNodeID(t *testing.T, p peer.ID) string {
	t.Helper()
	id, err := nodeIDOfPeer(p)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
