package node

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"sync"
	"time"
	"unsafe"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/lp2p"
	nm "github.com/cometbft/cometbft/node"
	cmtp2p "github.com/cometbft/cometbft/p2p"
	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// ChainIDProtocol is the libp2p protocol on which a gated idledger node
// tells a connected peer its chain ID. CometBFT's own transport compares
// chain IDs in its handshake (NodeInfo.Network); its libp2p transport has
// no handshake, so the gate asks every new peer and closes the connection
// to one of another chain, or one that does not answer.
const ChainIDProtocol = protocol.ID("/idledger/chain-id/1.0.0")

// chainIDTimeout bounds the chain ID exchange with a new libp2p peer.
const chainIDTimeout = 20 * time.Second

// maxOtherChainPeers bounds the memory of peers of other chains.
const maxOtherChainPeers = 1024

// maxChainIDLen bounds what is read from a peer as its chain ID (CometBFT
// chain IDs are at most 50 bytes).
const maxChainIDLen = 64

// libp2pGate is the admission gate of CometBFT's libp2p transport.
type libp2pGate struct {
	host    *lp2p.Host
	sw      cmtp2p.Switcher // nil in tests of the gate alone
	chainID string
	allowed func(nodeID string) bool
	logger  log.Logger

	mu sync.Mutex
	// otherChain holds the peers that answered with another chain ID: they
	// are refused on connection from then on, before any stream, instead
	// of once more after a chain ID exchange.
	otherChain map[peer.ID]string
}

// gateLibP2P makes CometBFT's libp2p transport ask the app before it takes
// a peer, as CometBFT's own transport does with filter_peers. CometBFT v0.40
// installs its peer filters only in its own transport; its libp2p switch
// accepts any peer, and offers no hook to filter them (its connection gater
// only counts peers and is fixed when the host is made). The gate is a
// libp2p Notifiee: the swarm tells it of a new connection before it accepts
// any stream on it, and the gate closes the connection unless the app's
// /p2p/filter/id/NODE-ID query allows that node (a member's registered node,
// or an observer of this node), then asks the peer its chain ID
// (ChainIDProtocol) and closes the connection to a peer of another chain.
//
// The host listens from the moment CometBFT makes it (in nm.NewNode), but
// the switch registers its stream handlers only when the node starts. The
// gate is installed between the two, and it then closes every connection
// that arrived before it: no peer exchanges a single message ungated.
//
// The libp2p host is not exported by CometBFT, so the gate finds it by
// reflection and refuses to run a node whose CometBFT it does not recognise
// (TestLibP2PHostLayout breaks when CometBFT's layout changes): better no
// node than an unpermissioned one.
func gateLibP2P(cmt *nm.Node, app abci.Application, chainID string, logger log.Logger) (*libp2pGate, error) {
	host, err := libp2pHost(cmt.Switch())
	if err != nil {
		return nil, err
	}
	g := installGate(host, chainID, func(id string) bool {
		r, err := app.Query(context.Background(), &abci.RequestQuery{Path: peerFilterPath + id})
		return err == nil && r.Code == abci.CodeTypeOK
	}, logger)
	g.sw = cmt.Switch()
	return g, nil
}

// drop closes p's connections and removes it from the switch, which
// otherwise keeps listing a peer it took on an earlier stream.
func (g *libp2pGate) drop(p peer.ID, reason error) {
	_ = g.host.Network().ClosePeer(p)
	if g.sw == nil {
		return
	}
	if sp := g.sw.Peers().Get(cmtp2p.ID(p.String())); sp != nil {
		g.sw.StopPeerForError(sp, reason)
	}
}

// installGate gates host: allowed decides on node IDs.
func installGate(host *lp2p.Host, chainID string, allowed func(nodeID string) bool, logger log.Logger) *libp2pGate {
	g := &libp2pGate{host: host, chainID: chainID, logger: logger, allowed: allowed, otherChain: map[peer.ID]string{}}
	host.SetStreamHandler(ChainIDProtocol, g.answerChainID)
	host.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) { g.admit(c) }})
	// Connections made before the notifiee was installed.
	for _, c := range host.Network().Conns() {
		g.admit(c)
	}
	return g
}

// libp2pHost digs the libp2p host out of CometBFT's libp2p switch.
func libp2pHost(s cmtp2p.Switcher) (*lp2p.Host, error) {
	sw, ok := s.(*lp2p.Switch)
	if !ok {
		return nil, fmt.Errorf("node: libp2p transport: the switch is a %T, not the *lp2p.Switch this gate knows", s)
	}
	f := reflect.ValueOf(sw).Elem().FieldByName("host")
	if !f.IsValid() || f.Type() != reflect.TypeOf((*lp2p.Host)(nil)) {
		return nil, fmt.Errorf("node: libp2p transport: CometBFT's libp2p switch has no host field of type *lp2p.Host; " +
			"peer permissioning cannot be enforced on it, so the node will not start (turn filter_peers off to run it unpermissioned)")
	}
	host := *(**lp2p.Host)(unsafe.Pointer(f.UnsafeAddr()))
	if host == nil {
		return nil, fmt.Errorf("node: libp2p transport: the switch has no host yet")
	}
	return host, nil
}

// admit closes c unless its peer is allowed, then checks its chain ID in
// the background (a stream cannot be opened before the swarm has finished
// accepting the connection, which waits for this notifiee).
func (g *libp2pGate) admit(c network.Conn) {
	id, err := nodeIDOfPeer(c.RemotePeer())
	if err != nil || !g.allowed(id) {
		g.logger.Info("refusing a libp2p peer that is not registered", "peer", c.RemotePeer().String(), "node_id", id, "err", err)
		_ = c.Close()
		return
	}
	g.mu.Lock()
	theirs, known := g.otherChain[c.RemotePeer()]
	g.mu.Unlock()
	if known {
		g.logger.Debug("refusing a libp2p peer of another chain", "peer", c.RemotePeer().String(), "node_id", id, "chain_id", theirs)
		_ = c.Close()
		return
	}
	go g.checkChainID(c, id)
}

func (g *libp2pGate) checkChainID(c network.Conn, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), chainIDTimeout)
	defer cancel()
	theirs, err := g.askChainID(ctx, c.RemotePeer())
	if err == nil && theirs == g.chainID {
		return
	}
	if err == nil {
		err = fmt.Errorf("peer is on chain %q, this node on %q", theirs, g.chainID)
		g.mu.Lock()
		if len(g.otherChain) < maxOtherChainPeers {
			g.otherChain[c.RemotePeer()] = theirs
		}
		g.mu.Unlock()
	}
	g.logger.Info("refusing a libp2p peer of another chain", "peer", c.RemotePeer().String(), "node_id", id, "err", err)
	g.drop(c.RemotePeer(), err)
}

func (g *libp2pGate) askChainID(ctx context.Context, p peer.ID) (string, error) {
	s, err := g.host.NewStream(ctx, p, ChainIDProtocol)
	if err != nil {
		return "", fmt.Errorf("asking the chain ID: %w", err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	b, err := io.ReadAll(io.LimitReader(s, maxChainIDLen+1))
	if err != nil {
		return "", fmt.Errorf("reading the chain ID: %w", err)
	}
	if len(b) > maxChainIDLen {
		return "", fmt.Errorf("chain ID over %d bytes", maxChainIDLen)
	}
	return string(b), nil
}

// answerChainID tells a peer this node's chain ID, if the peer is allowed.
func (g *libp2pGate) answerChainID(s network.Stream) {
	defer s.Close()
	id, err := nodeIDOfPeer(s.Conn().RemotePeer())
	if err != nil || !g.allowed(id) {
		_ = s.Reset()
		return
	}
	_ = s.SetDeadline(time.Now().Add(chainIDTimeout))
	_, _ = s.Write([]byte(g.chainID))
}

// recheck closes the connections of every libp2p peer no longer allowed.
func (g *libp2pGate) recheck() int {
	n := 0
	for _, p := range g.host.Network().Peers() {
		id, err := nodeIDOfPeer(p)
		if err == nil && g.allowed(id) {
			continue
		}
		g.logger.Info("disconnecting a libp2p peer no longer registered", "peer", p.String(), "node_id", id, "err", err)
		if err == nil {
			err = fmt.Errorf("node %s is no longer registered to a member", id)
		}
		g.drop(p, err)
		n++
	}
	return n
}

// nodeIDOfPeer turns a libp2p peer ID into the CometBFT node ID of the same
// ed25519 key: both name a node by its node_key.json.
func nodeIDOfPeer(p peer.ID) (string, error) {
	pub, err := p.ExtractPublicKey()
	if err != nil {
		return "", fmt.Errorf("no public key in peer ID %s: %w", p, err)
	}
	if pub.Type() != lcrypto.Ed25519 {
		return "", fmt.Errorf("peer %s has a %v key, not ed25519", p, pub.Type())
	}
	raw, err := pub.Raw()
	if err != nil {
		return "", err
	}
	return string(cmtp2p.PubKeyToID(cmted25519.PubKey(raw))), nil
}
