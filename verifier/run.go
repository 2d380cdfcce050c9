package verifier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/idledger/idledger/feed"
)

// Options configure a running verifier.
type Options struct {
	// Dir is the store's directory.
	Dir string
	// Peers are feed nodes' multiaddrs (with /p2p/ID).
	Peers []string
	// TrustHeight and TrustHash are the checkpoint. Needed for a new store;
	// for an existing one they must name the checkpoint it started from.
	TrustHeight int64
	TrustHash   []byte
	// RPC is a node's RPC URL to fill gaps from when peers cannot (optional).
	RPC string
	// ChainID pins the chain; default: the store's, the RPC node's, or the
	// one the peers' sync protocol names.
	ChainID string
	// Params are the light-client parameters (default DefaultParams).
	Params Params
	// ListenAddrs of the verifier's libp2p host (default loopback, free
	// port).
	ListenAddrs []string
	// SyncInterval: with no new update for this long, ask the sources for
	// what follows (default 2s).
	SyncInterval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger; nil: none.
	Logger log.Logger
}

// MaxPending bounds the updates kept while a gap is filled.
const MaxPending = 256

// Verifier is a running light verifier.
type Verifier struct {
	o      Options
	store  *Store
	host   host.Host
	ps     *pubsub.PubSub
	log    log.Logger
	peers  []peer.ID
	rpc    feed.RPC
	chain  string
	cpH    int64
	cpHash []byte

	mu      sync.Mutex
	state   *LightState
	pending map[int64]*feed.Update
	lastNew time.Time
}

// New opens the store, starts the libp2p host, connects to the peers and
// works out the chain. Run verifies.
func New(ctx context.Context, o Options) (*Verifier, error) {
	if o.Params.TrustingPeriod == 0 {
		o.Params = DefaultParams()
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = log.NewNopLogger()
	}
	if (o.TrustHeight != 0) != (len(o.TrustHash) != 0) {
		return nil, errors.New("verifier: a checkpoint needs both a height and a hash")
	}
	s, err := OpenStore(o.Dir)
	if err != nil {
		return nil, err
	}
	v := &Verifier{o: o, store: s, log: o.Logger, pending: map[int64]*feed.Update{}, chain: o.ChainID}
	fail := func(err error) (*Verifier, error) {
		v.close()
		return nil, err
	}
	head, st, err := s.Head()
	switch {
	case errors.Is(err, ErrNoHead):
		if o.TrustHeight == 0 {
			return fail(fmt.Errorf("verifier: %s holds no verified block: give the checkpoint (--trust-height and --trust-hash)", o.Dir))
		}
		v.cpH, v.cpHash = o.TrustHeight, o.TrustHash
	case err != nil:
		return fail(err)
	default:
		if o.TrustHeight != 0 && (o.TrustHeight != head.CheckpointHeight || !bytes.Equal(o.TrustHash, head.CheckpointHash)) {
			return fail(fmt.Errorf("verifier: %s started from checkpoint %d %X, not %d %X; use a new directory to start from another",
				o.Dir, head.CheckpointHeight, head.CheckpointHash, o.TrustHeight, o.TrustHash))
		}
		if v.chain != "" && v.chain != head.ChainId {
			return fail(fmt.Errorf("verifier: %s follows chain %q, not %q", o.Dir, head.ChainId, v.chain))
		}
		v.chain, v.state, v.cpH, v.cpHash = head.ChainId, st, head.CheckpointHeight, head.CheckpointHash
	}
	if o.RPC != "" {
		c, err := rpchttp.New(o.RPC, "/websocket")
		if err != nil {
			return fail(fmt.Errorf("verifier: --rpc %s: %w", o.RPC, err))
		}
		v.rpc = c
	}
	if v.host, err = feed.NewHost(feed.HostOptions{ListenAddrs: o.ListenAddrs}); err != nil {
		return fail(err)
	}
	for _, a := range o.Peers {
		ai, err := peer.AddrInfoFromString(a)
		if err != nil {
			return fail(fmt.Errorf("verifier: peer %q: %w", a, err))
		}
		v.peers = append(v.peers, ai.ID)
		if err := feed.Connect(ctx, v.host, a); err != nil {
			v.log.Error("verifier: cannot reach a peer (will retry)", "peer", a, "err", err)
		}
	}
	if v.chain == "" {
		if v.chain, err = v.discoverChain(ctx); err != nil {
			return fail(err)
		}
	}
	if v.ps, err = feed.NewPubSub(context.Background(), v.host); err != nil {
		return fail(err)
	}
	return v, nil
}

// discoverChain reads the chain ID from the RPC node or the peers' sync
// protocol IDs.
func (v *Verifier) discoverChain(ctx context.Context) (string, error) {
	if v.rpc != nil {
		st, err := v.rpc.Status(ctx)
		if err == nil {
			return st.NodeInfo.Network, nil
		}
		v.log.Error("verifier: node status", "err", err)
	}
	for _, p := range v.peers {
		protos, _ := v.host.Peerstore().GetProtocols(p)
		for _, pr := range protos {
			s, ok := strings.CutPrefix(string(pr), "/idledger/")
			if id, ok2 := strings.CutSuffix(s, "/feed-sync/v1"); ok && ok2 && id != "" {
				return id, nil
			}
		}
	}
	return "", errors.New("verifier: cannot tell the chain: no peer or RPC node answered (give --chain-id)")
}

// ChainID returns the chain the verifier follows.
func (v *Verifier) ChainID() string { return v.chain }

// Height returns the latest verified height (0 before the checkpoint).
func (v *Verifier) Height() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.state == nil {
		return 0
	}
	return v.state.Height()
}

// Addrs returns the verifier's libp2p multiaddrs.
func (v *Verifier) Addrs() []string { return feed.FullAddrs(v.host) }

func (v *Verifier) close() {
	if v.host != nil {
		v.host.Close()
	}
	v.store.Close()
}

// Run follows the feed until ctx is done: it verifies the checkpoint (for
// a new store), catches up over the sync protocol or RPC, then verifies
// every gossiped update, filling gaps as they show. It returns when ctx is
// done, or early when the checkpoint cannot be verified.
func (v *Verifier) Run(ctx context.Context) error {
	defer v.close()
	topic, err := v.ps.Join(feed.Topic(v.chain))
	if err != nil {
		return fmt.Errorf("verifier: joining %s: %w", feed.Topic(v.chain), err)
	}
	chainID := v.chain
	if err := v.ps.RegisterTopicValidator(feed.Topic(chainID), func(_ context.Context, _ peer.ID, m *pubsub.Message) bool {
		u, err := feed.DecodeUpdate(m.Data)
		if err != nil || u.ChainID != chainID {
			return false
		}
		m.ValidatorData = u
		return true
	}); err != nil {
		return fmt.Errorf("verifier: %w", err)
	}
	sub, err := topic.Subscribe(pubsub.WithBufferSize(256))
	if err != nil {
		return fmt.Errorf("verifier: subscribing: %w", err)
	}
	defer sub.Cancel()
	v.log.Info("verifier started", "chain_id", chainID, "dir", v.o.Dir, "addrs", v.Addrs())

	for v.state == nil {
		err := v.bootstrap(ctx)
		if err == nil {
			break
		}
		if errors.Is(err, ErrRefused) {
			return err
		}
		v.log.Error("verifier: fetching the checkpoint", "height", v.cpH, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(v.o.SyncInterval):
		}
	}
	v.catchUp(ctx)

	msgs := make(chan *feed.Update, 64)
	go func() {
		defer close(msgs)
		for {
			m, err := sub.Next(ctx)
			if err != nil {
				return
			}
			if u, ok := m.ValidatorData.(*feed.Update); ok {
				select {
				case msgs <- u:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	t := time.NewTicker(v.o.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-msgs:
			if !ok {
				return nil
			}
			v.handle(ctx, u, "gossip")
		case <-t.C:
			v.reconnect(ctx)
			if time.Since(v.lastNew) >= v.o.SyncInterval {
				v.catchUp(ctx)
			}
		}
	}
}

func (v *Verifier) reconnect(ctx context.Context) {
	for i, p := range v.peers {
		if len(v.host.Network().ConnsToPeer(p)) == 0 {
			if err := feed.Connect(ctx, v.host, v.o.Peers[i]); err != nil {
				v.log.Debug("verifier: peer unreachable", "peer", p, "err", err)
			}
		}
	}
}

// bootstrap fetches and verifies the checkpoint's update.
func (v *Verifier) bootstrap(ctx context.Context) error {
	var last error = errors.New("no source (give --peer or --rpc)")
	for _, src := range v.sources() {
		ups, err := src.fetch(ctx, v.cpH, v.cpH)
		if err != nil || len(ups) == 0 {
			if err == nil {
				err = errors.New("no update")
			}
			last = fmt.Errorf("%s: %w", src.name, err)
			continue
		}
		st, claims, err := VerifyCheckpoint(ups[0], v.cpH, v.cpHash, v.o.Params, v.o.Now())
		if err != nil {
			v.log.Error("verifier: refused the checkpoint update", "source", src.name, "err", err)
			last = err
			continue
		}
		if err := v.store.Save(st, claims, v.cpH, v.cpHash, v.o.Now().Unix()); err != nil {
			return err
		}
		v.mu.Lock()
		v.state = st
		v.mu.Unlock()
		v.log.Info("verifier: checkpoint verified", "height", v.cpH, "source", src.name)
		return nil
	}
	return last
}

// handle verifies one update; a gap or a missing validator set triggers a
// catch-up.
func (v *Verifier) handle(ctx context.Context, u *feed.Update, source string) {
	err := v.apply(u, source)
	switch {
	case err == nil:
		v.drainPending(source)
	case errors.Is(err, ErrGap):
		v.mu.Lock()
		if len(v.pending) < MaxPending {
			v.pending[u.Height] = u
		}
		v.mu.Unlock()
		v.catchUp(ctx)
	case errors.Is(err, ErrNeedValidators):
		v.catchUp(ctx)
	}
}

// apply verifies u against the current state and stores it. Refusals are
// logged.
func (v *Verifier) apply(u *feed.Update, source string) error {
	v.mu.Lock()
	st := v.state
	v.mu.Unlock()
	next, claims, err := VerifyUpdate(st, u, v.o.Params, v.o.Now())
	if err != nil {
		if errors.Is(err, ErrRefused) {
			v.log.Error("verifier: refused an update", "height", u.Height, "source", source, "err", err)
		}
		return err
	}
	if err := v.store.Save(next, claims, v.cpH, v.cpHash, v.o.Now().Unix()); err != nil {
		v.log.Error("verifier: saving", "height", u.Height, "err", err)
		return err
	}
	v.mu.Lock()
	v.state = next
	v.lastNew = time.Now()
	v.mu.Unlock()
	v.log.Debug("verifier: verified", "height", u.Height, "entries", len(claims), "source", source)
	return nil
}

func (v *Verifier) drainPending(source string) {
	for {
		h := v.Height() + 1
		v.mu.Lock()
		u := v.pending[h]
		for k := range v.pending {
			if k < h {
				delete(v.pending, k)
			}
		}
		delete(v.pending, h)
		v.mu.Unlock()
		if u == nil || v.apply(u, source) != nil {
			return
		}
	}
}

// catchUp asks the sources for the updates after the verified height until
// none has more.
func (v *Verifier) catchUp(ctx context.Context) {
	for ctx.Err() == nil {
		progressed := false
		for _, src := range v.sources() {
			from := v.Height() + 1
			ups, err := src.fetch(ctx, from, from+feed.MaxSyncUpdates-1)
			if err != nil {
				v.log.Debug("verifier: sync", "source", src.name, "err", err)
				continue
			}
			n := 0
			for _, u := range ups {
				if err := v.apply(u, src.name); err != nil {
					break
				}
				n++
			}
			if n > 0 {
				progressed = true
				v.log.Info("verifier: caught up", "source", src.name, "from", from, "to", v.Height())
				break
			}
		}
		v.drainPending("pending")
		if !progressed {
			return
		}
	}
}

type source struct {
	name  string
	fetch func(ctx context.Context, from, to int64) ([]*feed.Update, error)
}

// sources are the peers (sync protocol), then the RPC node.
func (v *Verifier) sources() []source {
	var out []source
	for _, p := range v.peers {
		out = append(out, source{name: "peer " + p.String(), fetch: func(ctx context.Context, from, to int64) ([]*feed.Update, error) {
			ups, _, err := feed.Sync(ctx, v.host, p, v.chain, from, to)
			return ups, err
		}})
	}
	if v.rpc != nil {
		out = append(out, source{name: "rpc " + v.o.RPC, fetch: v.fetchRPC})
	}
	return out
}

// fetchRPC builds updates from a node's RPC, as a feed node would.
func (v *Verifier) fetchRPC(ctx context.Context, from, to int64) ([]*feed.Update, error) {
	st, err := v.rpc.Status(ctx)
	if err != nil {
		return nil, err
	}
	to = min(to, st.SyncInfo.LatestBlockHeight)
	b := feed.NewBuilder(v.rpc, v.chain)
	var out []*feed.Update
	for h := from; h <= to; h++ {
		m, err := b.Build(ctx, h, h == from)
		if err != nil {
			if len(out) > 0 {
				break
			}
			return nil, err
		}
		raw, err := feed.EncodeUpdate(m)
		if err != nil {
			return nil, err
		}
		u, err := feed.DecodeUpdate(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}
