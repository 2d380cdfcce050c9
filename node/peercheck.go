package node

import (
	"context"
	"fmt"
	"strings"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/lp2p"
	cmtp2p "github.com/cometbft/cometbft/p2p"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/idledger/idledger/genesis"
)

// Peering follows membership. CometBFT asks the app about a peer once, when
// it connects (filter_peers, and idledger's libp2p gate); a member removed
// later, or whose validator role is taken away, would keep its connections.
// So after every commit the node asks the app again about each connected
// peer and disconnects those it no longer allows, on either transport.

// peerFilterPath is CometBFT's filter query for a node ID.
const peerFilterPath = "/p2p/filter/id/"

// codePeerDenied is the node's refusal of a peer (codespace idledger-node).
const codePeerDenied = 2

// genesisPeers returns the node IDs a new chain may peer with before its
// first block is committed: the genesis's members' registered nodes and
// this node's observers. Until then the app has no committed state and
// would allow anyone. It applies to the genesis validators' own nodes
// (self), which start the chain: for any other node it returns nil, since
// a node joining later at height 0 has nothing to give away, verifies all
// it receives, and must reach validators added after the genesis.
func genesisPeers(st *genesis.AppState, observers []string, self string) map[string]bool {
	m := map[string]bool{}
	// As the app decides (app.peerAllowed): any member's registered node.
	for _, mem := range st.Members {
		for _, id := range mem.NodeIDs {
			m[strings.ToLower(id)] = true
		}
	}
	if !m[strings.ToLower(self)] {
		return nil
	}
	for _, id := range observers {
		m[strings.ToLower(id)] = true
	}
	return m
}

// filterPeer answers CometBFT's peer filter query: the app's answer, and
// before the first commit (no state yet) the genesis's.
func (g *guardedApp) filterPeer(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	res, err := g.Application.Query(ctx, req)
	if err != nil || res.Code != abci.CodeTypeOK || g.genesisPeers == nil {
		return res, err
	}
	info, err := g.Application.Info(ctx, &abci.RequestInfo{})
	if err != nil {
		return nil, err
	}
	id := strings.ToLower(strings.TrimPrefix(req.Path, peerFilterPath))
	if info.LastBlockHeight == 0 && !g.genesisPeers[id] {
		return &abci.ResponseQuery{Code: codePeerDenied, Codespace: "idledger-node",
			Log: fmt.Sprintf("node %s is not registered to a member in the genesis", id)}, nil
	}
	return res, nil
}

// peerChecker re-checks connected peers after each commit.
type peerChecker struct {
	sw     cmtp2p.Switcher
	lp2p   *libp2pGate // nil on CometBFT's own transport
	app    abci.Application
	logger log.Logger

	kick chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
}

func newPeerChecker(sw cmtp2p.Switcher, gate *libp2pGate, app abci.Application, logger log.Logger) *peerChecker {
	pc := &peerChecker{sw: sw, lp2p: gate, app: app, logger: logger, kick: make(chan struct{}, 1), done: make(chan struct{})}
	pc.wg.Add(1)
	go pc.run()
	return pc
}

// committed asks for a re-check; it never blocks the commit.
func (pc *peerChecker) committed() {
	select {
	case pc.kick <- struct{}{}:
	default:
	}
}

func (pc *peerChecker) run() {
	defer pc.wg.Done()
	for {
		select {
		case <-pc.done:
			return
		case <-pc.kick:
			pc.recheck()
		}
	}
}

func (pc *peerChecker) stop() {
	if pc == nil {
		return
	}
	close(pc.done)
	pc.wg.Wait()
}

func (pc *peerChecker) allowed(id string) bool {
	r, err := pc.app.Query(context.Background(), &abci.RequestQuery{Path: peerFilterPath + id})
	return err == nil && r.Code == abci.CodeTypeOK
}

// recheck disconnects every connected peer the app no longer allows and
// returns how many.
func (pc *peerChecker) recheck() int {
	n := 0
	for _, p := range pc.sw.Peers().Copy() {
		id, err := peerNodeID(p)
		if err == nil && pc.allowed(id) {
			continue
		}
		if err == nil {
			err = fmt.Errorf("node %s is no longer registered to a member", id)
		}
		pc.logger.Info("disconnecting a peer no longer allowed", "peer", p.ID(), "err", err)
		pc.sw.StopPeerForError(p, err)
		n++
	}
	if pc.lp2p != nil {
		n += pc.lp2p.recheck()
	}
	return n
}

// peerNodeID is the CometBFT node ID of a connected peer: its ID on
// CometBFT's transport, the node ID of its key on libp2p (whose peers are
// named by libp2p peer IDs).
func peerNodeID(p cmtp2p.Peer) (string, error) {
	if _, ok := p.(*lp2p.Peer); ok {
		pid, err := peer.Decode(string(p.ID()))
		if err != nil {
			return "", err
		}
		return nodeIDOfPeer(pid)
	}
	return string(p.ID()), nil
}
