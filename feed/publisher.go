package feed

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Options configure a Publisher.
type Options struct {
	// RPC is the local node's RPC client (rpc/client/local or http).
	RPC RPC
	// ChainID is the chain the node runs.
	ChainID string
	// KeyFile holds the publisher's libp2p identity; it is made on first
	// use. Empty: a fresh identity each start.
	KeyFile string
	// ListenAddrs are the libp2p listen multiaddrs (default
	// DefaultListenAddr).
	ListenAddrs []string
	// Peers are multiaddrs (with /p2p/ID) of other feed nodes to connect
	// to: gossip flows over these connections and those verifiers open.
	Peers []string
	// PollInterval is how often the node's height is checked (default
	// 100ms).
	PollInterval time.Duration
	// MaxBacklog: after a pause longer than this many blocks the publisher
	// skips to the latest block (verifiers fill gaps over sync). Default
	// 100.
	MaxBacklog int64
	// Logger; nil: none.
	Logger log.Logger
}

// DefaultOptions returns the defaults for a node's feed.
func DefaultOptions() Options {
	return Options{ListenAddrs: []string{DefaultListenAddr}, PollInterval: 100 * time.Millisecond, MaxBacklog: 100}
}

// ValidateBasic checks o.
func (o Options) ValidateBasic() error {
	switch {
	case o.RPC == nil:
		return errors.New("feed: no RPC client")
	case o.ChainID == "":
		return errors.New("feed: no chain ID")
	case o.PollInterval < 0 || o.MaxBacklog < 0:
		return errors.New("feed: negative poll interval or backlog")
	}
	for _, a := range append(append([]string(nil), o.ListenAddrs...), o.Peers...) {
		if _, err := ma.NewMultiaddr(a); err != nil {
			return fmt.Errorf("feed: %q: %w", a, err)
		}
	}
	return nil
}

// Publisher publishes a node's blocks on the feed topic and answers sync
// requests.
type Publisher struct {
	opts    Options
	host    host.Host
	ps      *pubsub.PubSub
	topic   *pubsub.Topic
	builder *Builder
	cache   *updateCache
	sync    *syncServer
	// lastVals is the validator set hash of the last update gossiped.
	lastVals []byte
	log      log.Logger
	cancel   context.CancelFunc
	ctx      context.Context
}

// NewPublisher starts the publisher's libp2p host, gossipsub and sync
// handler; Run publishes.
func NewPublisher(o Options) (*Publisher, error) {
	if o.PollInterval == 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	if o.MaxBacklog == 0 {
		o.MaxBacklog = 100
	}
	if o.Logger == nil {
		o.Logger = log.NewNopLogger()
	}
	if err := o.ValidateBasic(); err != nil {
		return nil, err
	}
	ho := HostOptions{ListenAddrs: o.ListenAddrs}
	if o.KeyFile != "" {
		k, err := LoadOrCreateKey(o.KeyFile)
		if err != nil {
			return nil, err
		}
		ho.Key = k
	}
	h, err := NewHost(ho)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Publisher{opts: o, host: h, builder: NewBuilder(o.RPC, o.ChainID), cache: newUpdateCache(CacheBytes, CacheUpdates),
		log: o.Logger, ctx: ctx, cancel: cancel}
	p.sync = newSyncServer(o.ChainID, o.RPC, p.cache, p.log.Error)
	fail := func(err error) (*Publisher, error) {
		cancel()
		h.Close()
		return nil, err
	}
	if p.ps, err = NewPubSub(ctx, h, ScoreOptions(o.ChainID, nil)); err != nil {
		return fail(err)
	}
	// A publisher sends only its own updates (every feed node publishes
	// every block) and verifies nothing, so it forwards no one else's: a
	// forgery it relayed would count against it at the verifiers. Junk is
	// rejected, which scores its sender down.
	if err := p.ps.RegisterTopicValidator(Topic(o.ChainID), func(_ context.Context, _ peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		if _, err := CheckGossip(o.ChainID, m.Data); err != nil {
			return pubsub.ValidationReject
		}
		if m.GetFrom() != h.ID() {
			return pubsub.ValidationIgnore
		}
		return pubsub.ValidationAccept
	}); err != nil {
		return fail(fmt.Errorf("feed: %w", err))
	}
	if p.topic, err = p.ps.Join(Topic(o.ChainID)); err != nil {
		return fail(fmt.Errorf("feed: joining %s: %w", Topic(o.ChainID), err))
	}
	h.SetStreamHandler(SyncProtocol(o.ChainID), func(s network.Stream) { p.sync.serve(ctx, s) })
	for _, a := range o.Peers {
		if err := Connect(ctx, h, a); err != nil {
			p.log.Error("feed: connecting to a peer", "peer", a, "err", err)
		}
	}
	return p, nil
}

// Connect connects h to the peer at multiaddr a (which ends in /p2p/ID).
func Connect(ctx context.Context, h host.Host, a string) error {
	ai, err := peer.AddrInfoFromString(a)
	if err != nil {
		return fmt.Errorf("feed: peer %q: %w", a, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h.Connect(ctx, *ai); err != nil {
		return fmt.Errorf("feed: connecting to %s: %w", a, err)
	}
	return nil
}

// Addrs returns the publisher's full multiaddrs (with /p2p/ID): what
// verifiers pass as --peer.
func (p *Publisher) Addrs() []string { return FullAddrs(p.host) }

// Host returns the publisher's libp2p host.
func (p *Publisher) Host() host.Host { return p.host }

// FullAddrs returns h's listen multiaddrs with its /p2p/ID.
func FullAddrs(h host.Host) []string {
	var out []string
	for _, a := range h.Addrs() {
		out = append(out, a.String()+"/p2p/"+h.ID().String())
	}
	return out
}

// Run publishes an update for every block the node commits from now on,
// until ctx is done; then it closes the host. Blocks it cannot build yet
// are retried at the next poll.
func (p *Publisher) Run(ctx context.Context) error {
	defer p.close()
	p.log.Info("verifier feed started", "topic", Topic(p.opts.ChainID), "addrs", p.Addrs())
	var last int64
	t := time.NewTicker(p.opts.PollInterval)
	defer t.Stop()
	for {
		st, err := p.opts.RPC.Status(ctx)
		if err == nil {
			latest := st.SyncInfo.LatestBlockHeight
			if last == 0 || latest-last > p.opts.MaxBacklog {
				last = latest - 1
			}
			for last < latest && ctx.Err() == nil {
				if err := p.publish(ctx, last+1); err != nil {
					p.log.Error("feed: publishing", "height", last+1, "err", err)
					break
				}
				last++
			}
		} else if ctx.Err() == nil {
			p.log.Error("feed: node status", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *Publisher) publish(ctx context.Context, height int64) error {
	if height < 1 {
		return nil
	}
	x, err := p.builder.build(ctx, height)
	if err != nil {
		return err
	}
	p.cache.put(x)
	u := x.view(p.lastVals, false)
	b, err := EncodeUpdate(u)
	if err != nil {
		return err
	}
	if len(b) > MaxGossipSize {
		// Verifiers fetch it over sync; the next gossiped update carries
		// the validator set again.
		p.log.Info("feed: update too big for gossip, served over sync only", "height", height, "bytes", len(b))
		p.lastVals = nil
		return nil
	}
	p.lastVals = x.valsHash
	return p.topic.Publish(ctx, b)
}

func (p *Publisher) close() {
	p.cancel()
	_ = p.topic.Close()
	_ = p.host.Close()
}
