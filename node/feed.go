package node

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/rpc/client/local"

	"github.com/idledger/idledger/feed"
)

// FeedKeyFile holds, relative to a home, the libp2p identity of the node's
// verifier feed (made on first use).
const FeedKeyFile = "config/feed_key"

// FeedOptions turn on the verifier feed: each committed block's signed
// header, commit and changed status entries with proofs, published on
// gossipsub for light verifiers (see docs/verifier.md).
type FeedOptions struct {
	// ListenAddrs are libp2p multiaddrs, e.g. /ip4/127.0.0.1/tcp/26690.
	ListenAddrs []string
	// Peers are other feed nodes' multiaddrs (with /p2p/ID).
	Peers []string
}

// feedRunner is a running publisher.
type feedRunner struct {
	pub    *feed.Publisher
	cancel context.CancelFunc
	done   chan struct{}
}

func startFeed(n *Node, home, chainID string, o *FeedOptions, logger log.Logger) (*feedRunner, error) {
	pub, err := feed.NewPublisher(feed.Options{
		RPC:         local.New(n.cmt),
		ChainID:     chainID,
		KeyFile:     filepath.Join(home, FeedKeyFile),
		ListenAddrs: o.ListenAddrs,
		Peers:       o.Peers,
		Logger:      logger.With("module", "feed"),
	})
	if err != nil {
		return nil, fmt.Errorf("node: feed: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &feedRunner{pub: pub, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		pub.Run(ctx)
	}()
	return r, nil
}

func (r *feedRunner) stop() {
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
}

// FeedAddrs returns the multiaddrs verifiers reach this node's feed at
// (none when the feed is off).
func (n *Node) FeedAddrs() []string {
	if n.feed == nil {
		return nil
	}
	return n.feed.pub.Addrs()
}
