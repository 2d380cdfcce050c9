package node

import (
	"context"
	"fmt"
	"reflect"
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
)

// gateLibP2P makes CometBFT's libp2p transport ask the app before it takes
// a peer, as CometBFT's own transport does with filter_peers. CometBFT v0.40
// installs its peer filters only in its own transport; its libp2p switch
// accepts any peer. The gate is a libp2p Notifiee: the swarm tells it of a
// new connection before it accepts any stream on it, and the gate closes
// the connection unless the app's /p2p/filter/id/NODE-ID query allows that
// node (a validator member's node, or an observer of this node). The libp2p
// host is not exported by CometBFT, so the gate finds it by reflection and
// refuses to run a node whose CometBFT it does not recognise: better no node
// than an unpermissioned one.
func gateLibP2P(cmt *nm.Node, app abci.Application, logger log.Logger) error {
	sw, ok := cmt.Switch().(*lp2p.Switch)
	if !ok {
		return fmt.Errorf("node: libp2p transport: the switch is a %T, not the *lp2p.Switch this gate knows", cmt.Switch())
	}
	f := reflect.ValueOf(sw).Elem().FieldByName("host")
	if !f.IsValid() || f.Type() != reflect.TypeOf((*lp2p.Host)(nil)) {
		return fmt.Errorf("node: libp2p transport: CometBFT's libp2p switch has no host field of type *lp2p.Host; " +
			"peer permissioning cannot be enforced on it, so the node will not start (turn filter_peers off to run it unpermissioned)")
	}
	host := *(**lp2p.Host)(unsafe.Pointer(f.UnsafeAddr()))
	if host == nil {
		return fmt.Errorf("node: libp2p transport: the switch has no host yet")
	}
	allowed := func(id string) bool {
		r, err := app.Query(context.Background(), &abci.RequestQuery{Path: "/p2p/filter/id/" + id})
		return err == nil && r.Code == abci.CodeTypeOK
	}
	host.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		id, err := nodeIDOfPeer(c.RemotePeer())
		if err == nil && allowed(id) {
			return
		}
		logger.Info("refusing a libp2p peer that is not registered", "peer", c.RemotePeer().String(), "node_id", id, "err", err)
		_ = c.Close()
	}})
	return nil
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
