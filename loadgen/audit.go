package loadgen

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/testnet"
)

// AppCheck is the result of LoadOptions.AppCheck.
type AppCheck struct {
	OK       bool     `json:"ok"`
	Passed   []string `json:"passed"`
	Problems []string `json:"problems,omitempty"`
}

// appCheck checks the state after a run.
func (g *generator) appCheck(ctx context.Context, txs []*loadTx, res *LoadResult) *AppCheck {
	ac := &AppCheck{}
	pass := func(format string, args ...any) { ac.Passed = append(ac.Passed, fmt.Sprintf(format, args...)) }
	fail := func(format string, args ...any) { ac.Problems = append(ac.Problems, fmt.Sprintf(format, args...)) }
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	// The same app hash and block hash on every node at a common height.
	var heights []int64
	clients := make([]*rpchttp.HTTP, len(g.m.Nodes))
	for i, nd := range g.m.Nodes {
		c, err := rpchttp.NewWithTimeout(nd.RPCURL(), "/websocket", 5)
		if err != nil {
			fail("%s: %v", nd.Name, err)
			continue
		}
		st, err := c.Status(ctx)
		if err != nil {
			fail("%s does not answer: %v", nd.Name, err)
			continue
		}
		clients[i] = c
		heights = append(heights, st.SyncInfo.LatestBlockHeight)
	}
	if len(heights) > 0 {
		h := slices.Min(heights)
		var ref *cmttypes.Header
		agree := true
		for i, c := range clients {
			if c == nil {
				continue
			}
			hr, err := c.Header(ctx, &h)
			if err != nil {
				fail("%s: header %d: %v", g.m.Nodes[i].Name, h, err)
				agree = false
				continue
			}
			if ref == nil {
				ref = hr.Header
			} else if !slices.Equal(ref.AppHash, hr.Header.AppHash) || !slices.Equal(ref.Hash(), hr.Header.Hash()) {
				fail("%s disagrees at height %d: app hash %X, block %X; another node has %X, %X", g.m.Nodes[i].Name, h, hr.Header.AppHash, hr.Header.Hash(), ref.AppHash, ref.Hash())
				agree = false
			}
		}
		if agree && ref != nil {
			pass("%d nodes have the same block and app hash %X at height %d", len(heights), ref.AppHash, h)
		}
	}

	var committed []*loadTx
	for _, tx := range txs {
		if tx.committed && tx.code == 0 {
			committed = append(committed, tx)
		}
	}
	samples := committed
	if len(samples) > 3 {
		samples = []*loadTx{committed[0], committed[len(committed)/2], committed[len(committed)-1]}
	}
	reader := g.opts.Nodes[len(g.opts.Nodes)-1]
	readURL := g.m.Nodes[reader].RPCURL()

	if g.m.App != testnet.AppIdledger {
		for _, tx := range samples {
			r, err := clients[reader].ABCIQuery(ctx, "", tx.subject)
			switch {
			case err != nil:
				fail("kvstore query %s: %v", tx.subject, err)
			case string(r.Response.Value) != tx.claimType:
				fail("kvstore %s: stored value differs from the one sent", tx.subject)
			default:
				pass("kvstore has %s", tx.subject)
			}
		}
		ac.OK = len(ac.Problems) == 0
		return ac
	}

	// Member sequences moved by exactly the committed transactions.
	c, err := client.New(readURL)
	if err != nil {
		fail("%v", err)
		return ac
	}
	for t, id := range g.members {
		n := 0
		for _, tx := range committed {
			if tx.lane == t {
				n++
			}
		}
		mem, err := c.Member(ctx, id)
		switch {
		case err != nil:
			fail("member %s: %v", id, err)
		case mem.Sequence != g.seq0[t]+uint64(n):
			fail("member %s has sequence %d; %d + %d committed = %d expected", id, mem.Sequence, g.seq0[t], n, g.seq0[t]+uint64(n))
		default:
			pass("member %s sequence %d = %d + %d committed", id, mem.Sequence, g.seq0[t], n)
		}
	}

	// Verified reads of sample attestations, from the genesis on disk.
	doc, err := cmttypes.GenesisDocFromFile(filepath.Join(g.opts.Dir, g.m.Nodes[0].Home, node.GenesisFile))
	if err != nil {
		fail("genesis: %v", err)
		return ac
	}
	vc, err := client.New(readURL, client.WithGenesis(doc))
	if err != nil {
		fail("%v", err)
		return ac
	}
	for _, tx := range samples {
		st, err := vc.ClaimStatus(ctx, tx.subject, tx.claimType, true)
		switch {
		case err != nil:
			fail("verified status of %x %s: %v", tx.subject, tx.claimType, err)
		case st.State != chain.StateValid:
			fail("verified status of %x %s is %s, want valid", tx.subject, tx.claimType, st.State)
		default:
			pass("subject %x… %s: valid, proven against the app hash of block %d from %s", tx.subject[:6], tx.claimType, st.Height+1, g.m.Nodes[reader].Name)
		}
	}
	ac.OK = len(ac.Problems) == 0
	return ac
}
