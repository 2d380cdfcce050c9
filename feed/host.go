package feed

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/idledger/idledger/internal/atomicfile"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
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
// MaxGossipSize (larger ones are dropped when read), no peer exchange, a
// bounded validation queue; more options (ScoreOptions) may follow.
func NewPubSub(ctx context.Context, h host.Host, direct ...pubsub.Option) (*pubsub.PubSub, error) {
	opts := append([]pubsub.Option{
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		pubsub.WithMaxMessageSize(MaxGossipSize + 4<<10),
		pubsub.WithValidateQueueSize(64),
		pubsub.WithValidateThrottle(64),
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

// Gossip peer scoring. A message a topic validator rejects (it does not
// decode, names another chain, or, at a verifier, does not verify or omits
// a change) costs its sender InvalidMessagePenalty, squared and decaying
// slowly; below GraylistThreshold gossipsub ignores the peer altogether.
const (
	InvalidMessagePenalty = -10
	GossipThreshold       = -10
	PublishThreshold      = -50
	GraylistThreshold     = -80
)

// ScoreOptions turn on gossipsub peer scoring for chainID's topic. app adds
// an application score per peer (a verifier's penalty for a peer that lied
// over the sync protocol); nil: none.
func ScoreOptions(chainID string, app func(peer.ID) float64) pubsub.Option {
	if app == nil {
		app = func(peer.ID) float64 { return 0 }
	}
	return pubsub.WithPeerScore(&pubsub.PeerScoreParams{
		SkipAtomicValidation: true,
		Topics: map[string]*pubsub.TopicScoreParams{
			Topic(chainID): {
				SkipAtomicValidation:           true,
				TopicWeight:                    1,
				TimeInMeshQuantum:              time.Second, // unused (weight 0), but divided by
				TimeInMeshCap:                  1,
				InvalidMessageDeliveriesWeight: InvalidMessagePenalty,
				InvalidMessageDeliveriesDecay:  0.999,
			},
		},
		AppSpecificScore:  app,
		AppSpecificWeight: 1,
		DecayInterval:     time.Second,
		DecayToZero:       0.01,
		RetainScore:       10 * time.Minute,
	}, &pubsub.PeerScoreThresholds{
		SkipAtomicValidation: true,
		GossipThreshold:      GossipThreshold,
		PublishThreshold:     PublishThreshold,
		GraylistThreshold:    GraylistThreshold,
	})
}

// CheckGossip is the form check every feed node applies to gossip before it
// forwards it: at most MaxGossipSize, decodes (DecodeUpdate), for chainID.
// It returns the decoded update.
func CheckGossip(chainID string, data []byte) (*Update, error) {
	if len(data) > MaxGossipSize {
		return nil, fmt.Errorf("feed: gossip message of %d bytes, over the limit of %d", len(data), MaxGossipSize)
	}
	u, err := DecodeUpdate(data)
	if err != nil {
		return nil, err
	}
	if u.ChainID != chainID {
		return nil, fmt.Errorf("feed: update for chain %q, not %q", u.ChainID, chainID)
	}
	return u, nil
}
