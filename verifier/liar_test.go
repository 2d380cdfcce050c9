package verifier_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/feed"
	"github.com/idledger/idledger/feed/feedpb"
)

// liar is a feed peer that answers the sync protocol with the real chain's
// updates, built from the node's RPC, but leaves out the entry of one key
// once told to: a peer withholding a change (a revocation).
type liar struct {
	host host.Host
	drop atomic.Pointer[[]byte]
}

func startLiar(t *testing.T, w *world) *liar {
	t.Helper()
	h, err := feed.NewHost(feed.HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	l := &liar{host: h}
	h.SetStreamHandler(feed.SyncProtocol(w.e.ChainID), func(s network.Stream) {
		defer s.Close()
		r := bufio.NewReader(s)
		n, err := binary.ReadUvarint(r)
		if err != nil || n > feed.MaxSyncRequestSize {
			_ = s.Reset()
			return
		}
		raw := make([]byte, n)
		if _, err := io.ReadFull(r, raw); err != nil {
			_ = s.Reset()
			return
		}
		req := new(feedpb.FeedSyncRequest)
		if err := proto.Unmarshal(raw, req); err != nil {
			_ = s.Reset()
			return
		}
		ctx := context.Background()
		st, err := w.rpc.Status(ctx)
		if err != nil {
			_ = s.Reset()
			return
		}
		resp := &feedpb.FeedSyncResponse{Latest: st.SyncInfo.LatestBlockHeight}
		b := feed.NewBuilder(w.rpc, w.e.ChainID)
		for h := req.From; h <= min(req.To, resp.Latest, req.From+20); h++ {
			u, err := b.Build(ctx, h, h == req.From)
			if err != nil {
				break
			}
			dropEntry(u, l.drop.Load())
			resp.Updates = append(resp.Updates, u)
		}
		out, err := proto.Marshal(resp)
		if err != nil {
			_ = s.Reset()
			return
		}
		_, _ = s.Write(binary.AppendUvarint(nil, uint64(len(out))))
		_, _ = s.Write(out)
	})
	return l
}

func (l *liar) dropKey(k []byte) { l.drop.Store(&k) }

func (l *liar) addrs() []string { return feed.FullAddrs(l.host) }

// gossipLiar publishes, on its own gossipsub, the real chain's updates from
// the node's latest block on, leaving out the entry of key once set.
type gossipLiar struct {
	host  host.Host
	topic *pubsub.Topic
	drop  atomic.Pointer[[]byte]
}

func startGossipLiar(t *testing.T, w *world) *gossipLiar {
	t.Helper()
	h, err := feed.NewHost(feed.HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ps, err := feed.NewPubSub(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(feed.Topic(w.e.ChainID))
	if err != nil {
		t.Fatal(err)
	}
	return &gossipLiar{host: h, topic: topic}
}

// run publishes the update of every block from next on until ctx is done.
func (l *gossipLiar) run(ctx context.Context, w *world, next int64) {
	b := feed.NewBuilder(w.rpc, w.e.ChainID)
	for ctx.Err() == nil {
		st, err := w.rpc.Status(ctx)
		if err != nil {
			return
		}
		for ; next <= st.SyncInfo.LatestBlockHeight && ctx.Err() == nil; next++ {
			u, err := b.Build(ctx, next, true)
			if err != nil {
				return
			}
			dropEntry(u, l.drop.Load())
			raw, err := feed.EncodeUpdate(u)
			if err != nil {
				return
			}
			_ = l.topic.Publish(ctx, raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
