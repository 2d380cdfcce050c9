package verifier

import (
	"context"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/idledger/idledger/feed"
)

// PendingTester is a Verifier at a given light state with no sources and
// no store, for tests of its gossip validator and pending buffer.
type PendingTester struct{ v *Verifier }

// NewPendingTester returns one on host h (strikes disconnect through it).
func NewPendingTester(h host.Host, st *LightState, chainID string, maxBytes int) *PendingTester {
	v := &Verifier{host: h,
		o:       Options{Params: DefaultParams(), Now: time.Now, MaxPendingBytes: maxBytes, BanDuration: time.Minute},
		log:     log.NewNopLogger(),
		pending: map[int64]*feed.Update{}, chain: chainID, state: st,
		strikes: map[peer.ID]int{}, banned: map[peer.ID]time.Time{},
	}
	return &PendingTester{v: v}
}

// Validate runs the gossip validator on raw as sent by from.
func (p *PendingTester) Validate(from peer.ID, raw []byte) pubsub.ValidationResult {
	return p.v.validate(context.Background(), from, &pubsub.Message{Message: &pb.Message{Data: raw}})
}

// Pending returns the held update of height h, or nil.
func (p *PendingTester) Pending(h int64) *feed.Update {
	p.v.mu.Lock()
	defer p.v.mu.Unlock()
	return p.v.pending[h]
}

// Banned says whether from is banned.
func (p *PendingTester) Banned(from peer.ID) bool { return p.v.isBanned(from) }
