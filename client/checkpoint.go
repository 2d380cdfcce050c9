package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// CheckpointMargin is how many blocks below the lowest latest height of the
// asked servers TrustedCheckpoint picks, so that every server has the block
// committed (and its commit stored) even while the chain advances.
const CheckpointMargin = 2

// TrustedCheckpoint fetches a recent block height and its header hash from
// two or more independent RPC servers and returns them only if all of them
// agree: the same chain, and the same header hash at the chosen height. The
// height is the lowest of the servers' latest heights minus
// CheckpointMargin (never below the highest of their earliest stored
// heights). Fewer than two URLs, a server that does not answer, or any
// disagreement is an error, never a checkpoint.
//
// The result is what WithTrustedHeader takes: a light client starts
// verifying there instead of at the genesis block. It is only as good as the
// independence of the servers: one operator running both can still lie.
func TrustedCheckpoint(ctx context.Context, rpcURLs []string) (height int64, hash []byte, err error) {
	var urls []string
	seen := map[string]bool{}
	for _, u := range rpcURLs {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		if !strings.Contains(u, "://") {
			u = "http://" + u
		}
		if !seen[u] {
			seen[u] = true
			urls = append(urls, u)
		}
	}
	if len(urls) < 2 {
		return 0, nil, fmt.Errorf("client: a checkpoint needs at least two independent RPC servers, got %d", len(urls))
	}
	rpcs := make([]*rpchttp.HTTP, len(urls))
	for i, u := range urls {
		c, err := rpchttp.NewWithTimeout(u, "/websocket", requestTimeoutSeconds)
		if err != nil {
			return 0, nil, fmt.Errorf("client: checkpoint server %s: %w", u, err)
		}
		rpcs[i] = c
	}

	// Agree on the chain and pick a height every server has.
	var chainID string
	var lowestLatest, highestBase int64
	for i, c := range rpcs {
		st, err := c.Status(ctx)
		if err != nil {
			return 0, nil, fmt.Errorf("client: checkpoint server %s did not answer status: %w", urls[i], err)
		}
		net := st.NodeInfo.Network
		if i == 0 {
			chainID = net
		} else if net != chainID {
			return 0, nil, fmt.Errorf("client: checkpoint servers disagree on the chain: %s serves %q, %s serves %q",
				urls[0], chainID, urls[i], net)
		}
		latest, base := st.SyncInfo.LatestBlockHeight, st.SyncInfo.EarliestBlockHeight
		if latest < 1 {
			return 0, nil, fmt.Errorf("client: checkpoint server %s has no blocks yet", urls[i])
		}
		if i == 0 || latest < lowestLatest {
			lowestLatest = latest
		}
		if base > highestBase {
			highestBase = base
		}
	}
	height = lowestLatest - CheckpointMargin
	if height < highestBase {
		height = highestBase
	}
	if height < 1 {
		height = 1
	}
	if height > lowestLatest {
		return 0, nil, fmt.Errorf("client: checkpoint servers share no stored block (latest %d, earliest %d)", lowestLatest, highestBase)
	}

	// Every server must report the same header hash at that height.
	for i, c := range rpcs {
		h := height
		res, err := c.Commit(ctx, &h)
		if err != nil {
			return 0, nil, fmt.Errorf("client: checkpoint server %s did not answer commit %d: %w", urls[i], height, err)
		}
		if res == nil || res.SignedHeader.Header == nil {
			return 0, nil, fmt.Errorf("client: checkpoint server %s has no header at height %d", urls[i], height)
		}
		hdr := res.SignedHeader.Header
		if hdr.Height != height || hdr.ChainID != chainID {
			return 0, nil, fmt.Errorf("client: checkpoint server %s answered header %s/%d for %s/%d",
				urls[i], hdr.ChainID, hdr.Height, chainID, height)
		}
		got := hdr.Hash()
		if len(got) == 0 {
			return 0, nil, fmt.Errorf("client: checkpoint server %s sent an incomplete header at height %d", urls[i], height)
		}
		if cm := res.SignedHeader.Commit; cm != nil && len(cm.BlockID.Hash) != 0 && !bytes.Equal(cm.BlockID.Hash, got) {
			return 0, nil, fmt.Errorf("client: checkpoint server %s sent a commit for block %X with header %X at height %d",
				urls[i], []byte(cm.BlockID.Hash), got, height)
		}
		if i == 0 {
			hash = got
		} else if !bytes.Equal(got, hash) {
			return 0, nil, fmt.Errorf("client: %w: checkpoint servers disagree at height %d: %s has %X, %s has %X",
				ErrVerification, height, urls[0], hash, urls[i], got)
		}
	}
	if len(hash) == 0 {
		return 0, nil, errors.New("client: no checkpoint hash")
	}
	return height, hash, nil
}
