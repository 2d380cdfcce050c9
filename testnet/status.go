package testnet

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// NodeStatus is one node's state as its RPC reports it.
type NodeStatus struct {
	Name   string `json:"name"`
	Member string `json:"member"`
	RPC    string `json:"rpc"`
	P2P    string `json:"p2p"`
	// PID is the process ID in the node's pid file if that process is alive.
	PID int `json:"pid,omitempty"`
	// Up says the RPC answered; the fields below are set only then.
	Up         bool      `json:"up"`
	Height     int64     `json:"height"`
	BlockTime  time.Time `json:"block_time,omitempty"`
	AppHash    string    `json:"app_hash,omitempty"`
	BlockHash  string    `json:"block_hash,omitempty"`
	Peers      int       `json:"peers"`
	CatchingUp bool      `json:"catching_up"`
	Error      string    `json:"error,omitempty"`
}

// Status asks every node of the testnet in dir for its latest height, app
// hash, peer count and whether it is catching up, in parallel, each within
// a short timeout. A node that does not answer has Up false and Error set.
func Status(ctx context.Context, dir string) ([]NodeStatus, error) {
	dir, m, err := readManifestAbs(dir)
	if err != nil {
		return nil, err
	}
	out := make([]NodeStatus, len(m.Nodes))
	var wg sync.WaitGroup
	for i, nd := range m.Nodes {
		out[i] = NodeStatus{Name: nd.Name, Member: nd.Member, RPC: nd.RPCURL(), P2P: nd.P2P, PID: livePID(filepath.Join(dir, nd.Home))}
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodeStatus(ctx, &out[i])
		}()
	}
	wg.Wait()
	return out, nil
}

func nodeStatus(ctx context.Context, s *NodeStatus) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := rpchttp.NewWithTimeout(s.RPC, "/websocket", 3)
	if err != nil {
		s.Error = err.Error()
		return
	}
	st, err := c.Status(ctx)
	if err != nil {
		s.Error = "no answer: " + err.Error()
		return
	}
	s.Up = true
	s.Height = st.SyncInfo.LatestBlockHeight
	s.BlockTime = st.SyncInfo.LatestBlockTime.UTC()
	s.AppHash = fmt.Sprintf("%X", []byte(st.SyncInfo.LatestAppHash))
	s.BlockHash = fmt.Sprintf("%X", []byte(st.SyncInfo.LatestBlockHash))
	s.CatchingUp = st.SyncInfo.CatchingUp
	if ni, err := c.NetInfo(ctx); err == nil {
		s.Peers = ni.NPeers
	} else {
		s.Error = "net_info: " + err.Error()
	}
}
