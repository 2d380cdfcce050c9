package feed

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"context"

	"github.com/idledger/idledger/internal/atomicfile"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// DefaultListenAddr is the feed's default libp2p listen address: loopback,
// a free port.
const DefaultListenAddr = "/ip4/127.0.0.1/tcp/0"

// HostOptions configure a libp2p host of the feed.
type HostOptions struct {
	// Key is the host's identity; nil makes a fresh one.
	Key crypto.PrivKey
	// ListenAddrs are multiaddrs to listen on (default DefaultListenAddr).
	ListenAddrs []string
}

// NewHost starts a libp2p host for the feed: TCP only, Noise or TLS,
// yamux, no relay, no NAT port mapping, no mDNS (this package starts no
// discovery at all: peers are given).
func NewHost(o HostOptions) (host.Host, error) {
	key := o.Key
	if key == nil {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("feed: %w", err)
		}
		key = k
	}
	addrs := o.ListenAddrs
	if len(addrs) == 0 {
		addrs = []string{DefaultListenAddr}
	}
	h, err := libp2p.New(
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(addrs...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.Ping(false),
	)
	if err != nil {
		return nil, fmt.Errorf("feed: starting libp2p: %w", err)
	}
	return h, nil
}

// NewPubSub starts gossipsub on h with the feed's settings: every message
// signed by its author and checked (StrictSign), messages up to
// MaxUpdateSize, no peer exchange.
func NewPubSub(ctx context.Context, h host.Host, direct ...pubsub.Option) (*pubsub.PubSub, error) {
	opts := append([]pubsub.Option{
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		pubsub.WithMaxMessageSize(MaxUpdateSize + 4<<10),
		pubsub.WithPeerExchange(false),
		pubsub.WithFloodPublish(true),
	}, direct...)
	ps, err := pubsub.NewGossipSub(ctx, h, opts...)
	if err != nil {
		return nil, fmt.Errorf("feed: starting gossipsub: %w", err)
	}
	return ps, nil
}

// LoadOrCreateKey reads a libp2p private key from path (protobuf, as
// crypto.MarshalPrivateKey writes it), or makes an Ed25519 key and writes
// it there (0600) when the file does not exist.
func LoadOrCreateKey(path string) (crypto.PrivKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := crypto.UnmarshalPrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("feed: key %s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("feed: %w", err)
	}
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	b, err = crypto.MarshalPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	if err := atomicfile.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	return k, nil
}
