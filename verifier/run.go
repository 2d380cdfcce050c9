package verifier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/idledger/idledger/client"
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
	// RPCs are more RPC URLs, asked after RPC. With two or more of them
	// (RPC included) and no checkpoint, a new store is anchored on the
	// recent block they agree on (client.TrustedCheckpoint).
	RPCs []string
	// MaxPendingBytes bounds the updates held, in encoded bytes all
	// together, while a gap is filled (default DefaultMaxPendingBytes).
	// When it is full, further updates are dropped: back-pressure on
	// gossip, the sync protocol fetches them when their turn comes.
	MaxPendingBytes int
	// BanDuration is how long a peer that sent a forged, tampered or
	// incomplete update is disconnected and not asked (default
	// DefaultBanDuration).
	BanDuration time.Duration
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

// Bounds of the verifier's pending buffer, and how peers are punished.
const (
	// MaxPending bounds the number of updates kept while a gap is filled.
	MaxPending = 256
	// DefaultMaxPendingBytes bounds their encoded size, all together.
	DefaultMaxPendingBytes = 16 << 20
	// DefaultBanDuration: see Options.BanDuration.
	DefaultBanDuration = 10 * time.Minute
	// strikesToBan: malformed sync answers tolerated before a ban (a
	// verified header with a bad or missing entry bans at once).
	strikesToBan = 3
	// replayWindow: a gossiped update this many blocks below the verified
	// height is a replay, not a late delivery, and scores its sender down.
	replayWindow = 32
)

// Verifier is a running light verifier.
type Verifier struct {
	o      Options
	store  *Store
	host   host.Host
	ps     *pubsub.PubSub
	log    log.Logger
	peers  []peer.ID
	rpcs   []rpcSource
	chain  string
	cpH    int64
	cpHash []byte

	mu           sync.Mutex
	state        *LightState
	pending      map[int64]*feed.Update
	pendingBytes int
	lastNew      time.Time
	strikes      map[peer.ID]int
	banned       map[peer.ID]time.Time
	scores       map[peer.ID]float64
	incomplete   *Incomplete
}

type rpcSource struct {
	url string
	rpc feed.RPC
}

// Incomplete describes the height the verifier is stuck before: its
// header verified but no source has sent all the changes its block made.
type Incomplete struct {
	Height int64
	Since  time.Time
	// Source and Reason are the last source that failed and why.
	Source string
	Reason string
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
	if o.MaxPendingBytes <= 0 {
		o.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if o.BanDuration <= 0 {
		o.BanDuration = DefaultBanDuration
	}
	if (o.TrustHeight != 0) != (len(o.TrustHash) != 0) {
		return nil, errors.New("verifier: a checkpoint needs both a height and a hash")
	}
	s, err := OpenStore(o.Dir)
	if err != nil {
		return nil, err
	}
	v := &Verifier{o: o, store: s, log: o.Logger, pending: map[int64]*feed.Update{}, chain: o.ChainID,
		strikes: map[peer.ID]int{}, banned: map[peer.ID]time.Time{}}
	var urls []string
	for _, u := range append([]string{o.RPC}, o.RPCs...) {
		if u = strings.TrimSpace(u); u != "" && !slices.Contains(urls, u) {
			urls = append(urls, u)
		}
	}
	fail := func(err error) (*Verifier, error) {
		v.close()
		return nil, err
	}
	head, st, err := s.Head()
	switch {
	case errors.Is(err, ErrNoHead):
		if o.TrustHeight == 0 && len(urls) >= 2 {
			h, hash, err := client.TrustedCheckpoint(ctx, urls)
			if err != nil {
				return fail(fmt.Errorf("verifier: no checkpoint: %w", err))
			}
			v.log.Info("verifier: anchored on the block the RPC servers agree on", "height", h, "hash", fmt.Sprintf("%X", hash), "servers", urls)
			o.TrustHeight, o.TrustHash = h, hash
		}
		if o.TrustHeight == 0 {
			return fail(fmt.Errorf("verifier: %s holds no verified block: give the checkpoint (--trust-height and --trust-hash, or two RPC servers)", o.Dir))
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
	for _, u := range urls {
		c, err := rpchttp.New(u, "/websocket")
		if err != nil {
			return fail(fmt.Errorf("verifier: --rpc %s: %w", u, err))
		}
		v.rpcs = append(v.rpcs, rpcSource{url: u, rpc: c})
	}
	if v.host, err = feed.NewHost(feed.HostOptions{ListenAddrs: o.ListenAddrs}); err != nil {
		return fail(err)
	}
	v.host.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		go v.refuseBanned(c.RemotePeer())
	}})
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
	if v.ps, err = feed.NewPubSub(context.Background(), v.host, feed.ScoreOptions(v.chain, v.appScore),
		pubsub.WithPeerScoreInspect(v.inspectScores, time.Second)); err != nil {
		return fail(err)
	}
	return v, nil
}

// discoverChain reads the chain ID from the RPC node or the peers' sync
// protocol IDs.
func (v *Verifier) discoverChain(ctx context.Context) (string, error) {
	for _, r := range v.rpcs {
		st, err := r.rpc.Status(ctx)
		if err == nil {
			return st.NodeInfo.Network, nil
		}
		v.log.Error("verifier: node status", "rpc", r.url, "err", err)
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

// Host returns the verifier's libp2p host.
func (v *Verifier) Host() host.Host { return v.host }

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
	if err := v.ps.RegisterTopicValidator(feed.Topic(v.chain), v.validate); err != nil {
		return fmt.Errorf("verifier: %w", err)
	}
	sub, err := topic.Subscribe(pubsub.WithBufferSize(16))
	if err != nil {
		return fmt.Errorf("verifier: subscribing: %w", err)
	}
	defer sub.Cancel()
	v.log.Info("verifier started", "chain_id", v.chain, "dir", v.o.Dir, "addrs", v.Addrs())

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
			if st := v.Status(); st.Incomplete != nil {
				v.log.Error("verifier: stale: the next block's changes are withheld; asking other sources",
					"verified_through", st.VerifiedThrough, "age", st.Age.Round(time.Second), "waiting_for", st.Incomplete.Height,
					"last_source", st.Incomplete.Source, "reason", st.Incomplete.Reason)
			}
			v.reconnect(ctx)
			if time.Since(v.lastNew) >= v.o.SyncInterval {
				v.catchUp(ctx)
			}
		}
	}
}

func (v *Verifier) reconnect(ctx context.Context) {
	for i, p := range v.peers {
		if v.isBanned(p) {
			continue
		}
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

// validate is the gossipsub validator: only an update that verifies as
// the next block, complete, is accepted (and so forwarded). A later one is
// kept for its turn while the buffer has room (not forwarded: it is not
// verified yet); an old one is ignored. Anything malformed, forged,
// tampered or incomplete, and replays of long-verified heights, are
// rejected, which gossipsub scores against the sender.
func (v *Verifier) validate(_ context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	u, err := feed.CheckGossip(v.chain, m.Data)
	if err != nil {
		v.log.Debug("verifier: rejected gossip", "from", from, "err", err)
		go v.strike(from, err, false)
		return pubsub.ValidationReject
	}
	v.mu.Lock()
	st := v.state
	v.mu.Unlock()
	if st == nil {
		return pubsub.ValidationIgnore
	}
	switch {
	case u.Height < st.Height()-replayWindow:
		return pubsub.ValidationReject
	case u.Height <= st.Height():
		if u.Height == st.Height() && !bytes.Equal(u.Header.Hash(), st.Header.Hash()) {
			return pubsub.ValidationReject // another block at a verified height
		}
		return pubsub.ValidationIgnore
	case u.Height > st.Height()+MaxPending:
		return pubsub.ValidationIgnore // too far ahead to be worth holding
	case u.Height > st.Height()+1:
		// Held only once it verifies as far as it can (verifyAhead): a
		// forgery cannot take the height's place from the real block.
		err := v.keepPending(u)
		if errors.Is(err, ErrRefused) && !errors.Is(err, errAtThisClock) {
			v.log.Error("verifier: rejected a gossiped update for a later height", "height", u.Height, "from", from, "err", err)
			go v.strike(from, err, true)
			return pubsub.ValidationReject
		}
		return pubsub.ValidationIgnore
	}
	_, _, err = VerifyUpdate(st, u, v.o.Params, v.o.Now())
	switch {
	case err == nil:
		m.ValidatorData = u
		return pubsub.ValidationAccept
	case errors.Is(err, errAtThisClock):
		v.log.Error("verifier: cannot verify a gossiped update at this clock", "height", u.Height, "err", err)
		return pubsub.ValidationIgnore
	case errors.Is(err, ErrRefused) || errors.Is(err, ErrIncomplete):
		// Honest nodes never send one, and no honest node forwards one
		// (publishers forward nothing, verifiers only what verified).
		v.noteIncomplete(u.Height, "gossip from "+from.String(), err)
		v.log.Error("verifier: rejected a gossiped update", "height", u.Height, "from", from, "err", err)
		go v.strike(from, err, true)
		return pubsub.ValidationReject
	default: // e.g. a changed validator set not carried: the sync protocol has it
		return pubsub.ValidationIgnore
	}
}

// keepPending holds an update that is ahead of the verified height, within
// the buffer's bounds, once verifyAhead passes it; over the bounds it is
// dropped (fetched later over sync). Only verified updates are held, so an
// update that takes a height's place is that height's block: one per height
// is enough, and well-formed forgeries (free to make) cannot crowd the real
// blocks out. It returns why an update was not held (nil when held or
// already held).
func (v *Verifier) keepPending(u *feed.Update) error {
	v.mu.Lock()
	st := v.state
	_, dup := v.pending[u.Height]
	v.mu.Unlock()
	if st == nil {
		return errors.New("verifier: no verified state yet")
	}
	if dup {
		return nil
	}
	if _, _, err := verifyAhead(st, u, v.o.Params, v.o.Now()); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, dup := v.pending[u.Height]; dup {
		return nil
	}
	if u.Height <= v.state.Height() {
		return ErrStale
	}
	if len(v.pending) >= MaxPending || v.pendingBytes+len(u.Raw) > v.o.MaxPendingBytes {
		return errors.New("verifier: the pending buffer is full")
	}
	v.pending[u.Height] = u
	v.pendingBytes += len(u.Raw)
	return nil
}

// PendingBytes is the encoded size of the updates held for later heights
// (at most Options.MaxPendingBytes).
func (v *Verifier) PendingBytes() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.pendingBytes
}

// handle verifies one update; a gap or a missing validator set triggers a
// catch-up.
func (v *Verifier) handle(ctx context.Context, u *feed.Update, source string) {
	err := v.apply(u, source)
	switch {
	case err == nil:
		v.drainPending(source)
	case errors.Is(err, ErrGap):
		_ = v.keepPending(u)
		v.catchUp(ctx)
	case errors.Is(err, ErrNeedValidators), errors.Is(err, ErrIncomplete):
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
		if errors.Is(err, ErrRefused) || errors.Is(err, ErrIncomplete) {
			v.noteIncomplete(u.Height, source, err)
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
	if v.incomplete != nil && v.incomplete.Height <= u.Height {
		v.log.Info("verifier: completed the withheld height", "height", v.incomplete.Height, "source", source)
		v.incomplete = nil
	}
	v.mu.Unlock()
	v.log.Debug("verifier: verified", "height", u.Height, "entries", len(claims), "source", source)
	return nil
}

func (v *Verifier) noteIncomplete(height int64, source string, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.state == nil || height != v.state.Height()+1 {
		return
	}
	if v.incomplete == nil || v.incomplete.Height != height {
		v.incomplete = &Incomplete{Height: height, Since: v.o.Now()}
	}
	v.incomplete.Source, v.incomplete.Reason = source, err.Error()
}

func (v *Verifier) drainPending(source string) {
	for {
		h := v.Height() + 1
		v.mu.Lock()
		u := v.pending[h]
		for k, p := range v.pending {
			if k <= h {
				delete(v.pending, k)
				v.pendingBytes -= len(p.Raw)
			}
		}
		v.mu.Unlock()
		if u == nil || v.apply(u, source) != nil {
			return
		}
	}
}

// catchUp asks the sources for the updates after the verified height until
// none has more. A source whose answer does not verify is skipped for the
// next one; a peer that sent a verified header with a forged, tampered or
// missing entry is banned.
func (v *Verifier) catchUp(ctx context.Context) {
	for ctx.Err() == nil {
		progressed := false
		for _, src := range v.sources() {
			from := v.Height() + 1
			ups, err := src.fetch(ctx, from, from+feed.MaxSyncUpdates-1)
			if err != nil {
				v.log.Debug("verifier: sync", "source", src.name, "err", err)
				if src.peer != "" && errors.Is(err, feed.ErrBadAnswer) {
					v.strike(src.peer, err, false)
				}
				continue
			}
			n := 0
			for _, u := range ups {
				if err := v.apply(u, src.name); err != nil {
					if src.peer != "" && (errors.Is(err, ErrRefused) || errors.Is(err, ErrIncomplete)) && !errors.Is(err, errAtThisClock) {
						v.strike(src.peer, err, true)
					}
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

// strike counts a peer's misbehaviour over the sync protocol; a proven one
// (a verified header with bad or missing entries) or strikesToBan malformed
// answers disconnect the peer and keep it away for BanDuration.
func (v *Verifier) strike(p peer.ID, err error, proven bool) {
	v.mu.Lock()
	v.strikes[p]++
	ban := proven || v.strikes[p] >= strikesToBan
	if ban {
		v.banned[p] = v.o.Now().Add(v.o.BanDuration)
		v.strikes[p] = 0
	}
	v.mu.Unlock()
	if ban {
		v.log.Error("verifier: banning a feed peer", "peer", p, "for", v.o.BanDuration, "err", err)
		_ = v.host.Network().ClosePeer(p)
	}
}

// refuseBanned disconnects a banned peer that connects (again); run from
// the host's connection notifications.
func (v *Verifier) refuseBanned(p peer.ID) {
	if v.isBanned(p) {
		_ = v.host.Network().ClosePeer(p)
	}
}

func (v *Verifier) isBanned(p peer.ID) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	until, ok := v.banned[p]
	if ok && !v.o.Now().Before(until) {
		delete(v.banned, p)
		return false
	}
	return ok
}

// appScore is the gossipsub application score: a banned peer is below the
// graylist threshold, so its gossip is ignored too.
func (v *Verifier) appScore(p peer.ID) float64 {
	if v.isBanned(p) {
		return 10 * feed.GraylistThreshold
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return float64(v.strikes[p]) * feed.PublishThreshold / strikesToBan
}

func (v *Verifier) inspectScores(m map[peer.ID]float64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.scores = m
}

// GossipScore is gossipsub's score of peer p, as of the last second: below
// zero for a peer whose messages were rejected, below
// feed.GraylistThreshold for one that is ignored.
func (v *Verifier) GossipScore(p peer.ID) float64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.scores[p]
}

// Banned lists the peers banned now, sorted.
func (v *Verifier) Banned() []peer.ID {
	v.mu.Lock()
	ids := make([]peer.ID, 0, len(v.banned))
	for p := range v.banned {
		ids = append(ids, p)
	}
	v.mu.Unlock()
	var out []peer.ID
	for _, p := range ids {
		if v.isBanned(p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// Status is what a running verifier knows and how fresh it is.
type Status struct {
	ChainID string
	// VerifiedThrough is the last block all of whose status changes the
	// store holds, proven; HeaderTime is the time of the header that proved
	// them (block VerifiedThrough+1) and Age how old it is.
	VerifiedThrough int64
	HeaderTime      time.Time
	Age             time.Duration
	// Incomplete is set while the next block's header verified but no
	// source has sent every change it made.
	Incomplete *Incomplete
	// PendingBytes is the size of the updates held for later heights.
	PendingBytes int
	Banned       []peer.ID
}

// Status reports the verifier's progress at its clock.
func (v *Verifier) Status() Status {
	st := Status{ChainID: v.chain, Banned: v.Banned()}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.state != nil {
		st.VerifiedThrough = v.state.Height() - 1
		st.HeaderTime = v.state.Header.Time.UTC()
		st.Age = v.o.Now().Sub(v.state.Header.Time)
	}
	if v.incomplete != nil {
		c := *v.incomplete
		st.Incomplete = &c
	}
	st.PendingBytes = v.pendingBytes
	return st
}

type source struct {
	name  string
	peer  peer.ID
	fetch func(ctx context.Context, from, to int64) ([]*feed.Update, error)
}

// sources are the peers not banned (sync protocol), then the RPC nodes.
func (v *Verifier) sources() []source {
	var out []source
	for _, p := range v.peers {
		if v.isBanned(p) {
			continue
		}
		out = append(out, source{name: "peer " + p.String(), peer: p, fetch: func(ctx context.Context, from, to int64) ([]*feed.Update, error) {
			ups, _, err := feed.Sync(ctx, v.host, p, v.chain, from, to)
			return ups, err
		}})
	}
	for _, r := range v.rpcs {
		out = append(out, source{name: "rpc " + r.url, fetch: func(ctx context.Context, from, to int64) ([]*feed.Update, error) {
			return v.fetchRPC(ctx, r.rpc, from, to)
		}})
	}
	return out
}

// fetchRPC builds updates from a node's RPC, as a feed node would.
func (v *Verifier) fetchRPC(ctx context.Context, rpc feed.RPC, from, to int64) ([]*feed.Update, error) {
	st, err := rpc.Status(ctx)
	if err != nil {
		return nil, err
	}
	to = min(to, st.SyncInfo.LatestBlockHeight, from+19)
	b := feed.NewBuilder(rpc, v.chain)
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
