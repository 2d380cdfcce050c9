package feed

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/feed/feedpb"
)

// SyncTimeout bounds one sync exchange.
const SyncTimeout = 30 * time.Second

// ErrBadAnswer is wrapped by Sync when the peer's answer breaks the
// protocol: oversized, undecodable, malformed updates, skipped heights. (A
// peer that says it cannot answer, or a network failure, is not one.)
var ErrBadAnswer = errors.New("feed: bad sync answer")

// Frames on a sync stream are a uvarint length and that many bytes of
// protobuf: one FeedSyncRequest, then one FeedSyncResponse.
func writeFrame(w io.Writer, b []byte) error {
	var hdr [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(len(b)))
	if _, err := w.Write(hdr[:n]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

var errFrameTooBig = errors.New("frame too big")

func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("%w: %d bytes, over the limit of %d", errFrameTooBig, n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// Limits of a sync server.
const (
	// SyncRate and SyncBurst bound each peer's sync requests: SyncRate per
	// second on average, SyncBurst at once. Requests over it are reset
	// unread.
	SyncRate  = 5
	SyncBurst = 20
	// MaxSyncStreams bounds the sync requests served at once, all peers
	// together.
	MaxSyncStreams = 8
	// CacheBytes and CacheUpdates bound the publisher's cache of built
	// updates, which sync answers are served from.
	CacheBytes   = 64 << 20
	CacheUpdates = 2000
	// BuildRate and BuildBurst bound the updates a sync server builds for
	// one peer (heights its cache lacks: each build is a query per record,
	// under the app's lock): BuildBurst at once (a verifier catching up
	// gets a full answer), then BuildRate a second. GlobalBuildRate and
	// GlobalBuildBurst bound them for all peers together, so that peer IDs,
	// which cost nothing, do not add up to a node kept busy. Over either,
	// the answer stops at the last cached height and says to retry.
	BuildRate        = 2
	BuildBurst       = 100
	GlobalBuildRate  = 10
	GlobalBuildBurst = 300
)

// syncServer answers sync requests from the publisher's cache of the
// updates it built, without touching the node: a request for a height the
// cache lacks is built from the node's RPC only when no other such build
// runs (one at a time: the app answers queries under its lock), else the
// answer stops there and the verifier asks again or elsewhere.
type syncServer struct {
	chainID string
	rpc     RPC
	cache   *updateCache
	limiter *peerLimiter
	builds  *peerLimiter // per peer; the "" bucket is everyone's
	global  *peerLimiter
	slots   chan struct{}
	build   chan struct{}
	log     func(msg string, kv ...any)
}

func newSyncServer(chainID string, rpc RPC, cache *updateCache, log func(msg string, kv ...any)) *syncServer {
	return &syncServer{
		chainID: chainID, rpc: rpc, cache: cache, limiter: newPeerLimiter(SyncRate, SyncBurst),
		builds: newPeerLimiter(BuildRate, BuildBurst), global: newPeerLimiter(GlobalBuildRate, GlobalBuildBurst),
		slots: make(chan struct{}, MaxSyncStreams), build: make(chan struct{}, 1), log: log,
	}
}

func (sv *syncServer) serve(ctx context.Context, s network.Stream) {
	if !sv.limiter.allow(s.Conn().RemotePeer(), time.Now()) {
		_ = s.Reset()
		return
	}
	select {
	case sv.slots <- struct{}{}:
		defer func() { <-sv.slots }()
	default:
		_ = s.Reset()
		return
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(SyncTimeout))
	resp := sv.answer(ctx, s)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
	if err == nil {
		err = writeFrame(s, b)
	}
	if err != nil {
		sv.log("feed sync: answering", "peer", s.Conn().RemotePeer(), "err", err)
		_ = s.Reset()
	}
}

func (sv *syncServer) answer(ctx context.Context, s network.Stream) *feedpb.FeedSyncResponse {
	raw, err := readFrame(bufio.NewReader(io.LimitReader(s, MaxSyncRequestSize+binary.MaxVarintLen64)), MaxSyncRequestSize)
	if err != nil {
		return &feedpb.FeedSyncResponse{Error: "bad request: " + err.Error()}
	}
	req := new(feedpb.FeedSyncRequest)
	if err := proto.Unmarshal(raw, req); err != nil {
		return &feedpb.FeedSyncResponse{Error: "bad request: " + err.Error()}
	}
	// The node's status reads its block store, not the app.
	latest := sv.cache.latest()
	if st, err := sv.rpc.Status(ctx); err == nil {
		latest = st.SyncInfo.LatestBlockHeight
	}
	resp := &feedpb.FeedSyncResponse{Latest: latest}
	switch {
	case req.ChainId != sv.chainID:
		resp.Error = fmt.Sprintf("this node serves chain %q, not %q", sv.chainID, req.ChainId)
		return resp
	case req.From <= 0 || req.To < req.From:
		resp.Error = fmt.Sprintf("bad range [%d, %d]", req.From, req.To)
		return resp
	}
	to := min(req.To, latest, req.From+MaxSyncUpdates-1)
	var prevVals []byte
	size := 0
	for h := req.From; h <= to; h++ {
		x := sv.cache.get(h)
		if x == nil {
			if x, err = sv.buildMissing(ctx, s.Conn().RemotePeer(), h); err != nil {
				if len(resp.Updates) == 0 {
					resp.Error = err.Error()
				}
				break
			}
		}
		u := x.view(prevVals, h == req.From)
		prevVals = x.valsHash
		n := proto.Size(u)
		if size+n > MaxSyncResponseSize-64<<10 {
			break
		}
		size += n
		resp.Updates = append(resp.Updates, u)
	}
	return resp
}

func (sv *syncServer) buildMissing(ctx context.Context, p peer.ID, h int64) (*built, error) {
	select {
	case sv.build <- struct{}{}:
		defer func() { <-sv.build }()
	default:
		return nil, fmt.Errorf("height %d is not cached and the node is busy: retry", h)
	}
	now := time.Now()
	if !sv.builds.allow(p, now) {
		return nil, fmt.Errorf("height %d is not cached and this peer's build budget is spent: retry later or ask another publisher", h)
	}
	if !sv.global.allow("", now) {
		return nil, fmt.Errorf("height %d is not cached and the node's build budget is spent: retry later or ask another publisher", h)
	}
	x, err := NewBuilder(sv.rpc, sv.chainID).build(ctx, h)
	if err != nil {
		return nil, err
	}
	sv.cache.put(x)
	return x, nil
}

// updateCache holds recently built updates, bounded in bytes and count;
// the oldest inserted goes first.
type updateCache struct {
	mu       sync.Mutex
	m        map[int64]*built
	order    []int64
	bytes    int
	maxBytes int
	maxN     int
	top      int64
}

func newUpdateCache(maxBytes, maxN int) *updateCache {
	return &updateCache{m: map[int64]*built{}, maxBytes: maxBytes, maxN: maxN}
}

func (c *updateCache) get(h int64) *built {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[h]
}

// latest is the highest height built (by the publisher) so far.
func (c *updateCache) latest() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.top
}

func (c *updateCache) put(x *built) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[x.height]; ok || x.size > c.maxBytes {
		return
	}
	c.m[x.height] = x
	c.order = append(c.order, x.height)
	c.bytes += x.size
	c.top = max(c.top, x.height)
	for len(c.order) > 0 && (c.bytes > c.maxBytes || len(c.order) > c.maxN) {
		old := c.m[c.order[0]]
		delete(c.m, c.order[0])
		c.order = c.order[1:]
		c.bytes -= old.size
	}
}

// peerLimiter is a token bucket per peer.
type peerLimiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	buckets map[peer.ID]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newPeerLimiter(rate, burst float64) *peerLimiter {
	return &peerLimiter{rate: rate, burst: burst, buckets: map[peer.ID]*bucket{}}
}

func (l *peerLimiter) allow(p peer.ID, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[p]
	if b == nil {
		if len(l.buckets) > 4096 {
			for id, o := range l.buckets {
				if now.Sub(o.last) > time.Minute {
					delete(l.buckets, id)
				}
			}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[p] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Sync asks peer p for the updates of heights from..to over the sync
// protocol and returns those it sent (possibly fewer; decoded, not
// verified) and the peer's latest height.
func Sync(ctx context.Context, h host.Host, p peer.ID, chainID string, from, to int64) ([]*Update, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, SyncTimeout)
	defer cancel()
	s, err := h.NewStream(ctx, p, SyncProtocol(chainID))
	if err != nil {
		return nil, 0, fmt.Errorf("feed: sync with %s: %w", p, err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	req, err := proto.Marshal(&feedpb.FeedSyncRequest{ChainId: chainID, From: from, To: to})
	if err != nil {
		return nil, 0, err
	}
	if err := writeFrame(s, req); err != nil {
		_ = s.Reset()
		return nil, 0, fmt.Errorf("feed: sync with %s: %w", p, err)
	}
	_ = s.CloseWrite()
	raw, err := readFrame(bufio.NewReader(io.LimitReader(s, MaxSyncResponseSize+binary.MaxVarintLen64)), MaxSyncResponseSize)
	if err != nil {
		_ = s.Reset()
		if errors.Is(err, errFrameTooBig) {
			err = fmt.Errorf("%w: %w", ErrBadAnswer, err)
		}
		return nil, 0, fmt.Errorf("feed: sync with %s: %w", p, err)
	}
	ups, latest, err := DecodeSyncResponse(raw)
	if err == nil && len(ups) > 0 && (ups[0].Height != from || ups[len(ups)-1].Height > to) {
		err = fmt.Errorf("%w: asked for %d-%d, got %d-%d", ErrBadAnswer, from, to, ups[0].Height, ups[len(ups)-1].Height)
	}
	if err != nil {
		return nil, latest, fmt.Errorf("feed: sync with %s: %w", p, err)
	}
	return ups, latest, nil
}

// DecodeSyncResponse decodes a sync answer: its updates decoded (not
// verified), in strictly increasing heights.
func DecodeSyncResponse(raw []byte) ([]*Update, int64, error) {
	resp := new(feedpb.FeedSyncResponse)
	if err := proto.Unmarshal(raw, resp); err != nil {
		return nil, 0, fmt.Errorf("%w: does not decode: %w", ErrBadAnswer, err)
	}
	if resp.Error != "" {
		return nil, resp.Latest, fmt.Errorf("feed: the peer refused: %s", resp.Error)
	}
	if len(resp.Updates) > MaxSyncUpdates {
		return nil, 0, fmt.Errorf("%w: too many updates", ErrBadAnswer)
	}
	out := make([]*Update, 0, len(resp.Updates))
	for i, m := range resp.Updates {
		u, err := fromProto(m)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %w", ErrBadAnswer, err)
		}
		if i > 0 && u.Height != out[i-1].Height+1 {
			return nil, 0, fmt.Errorf("%w: skips or reorders from %d to %d", ErrBadAnswer, out[i-1].Height, u.Height)
		}
		out = append(out, u)
	}
	return out, resp.Latest, nil
}
