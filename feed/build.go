package feed

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/feed/feedpb"
)

// RPC is the part of CometBFT's RPC client the feed uses; both
// rpc/client/http and rpc/client/local provide it.
type RPC interface {
	Status(ctx context.Context) (*coretypes.ResultStatus, error)
	Commit(ctx context.Context, height *int64) (*coretypes.ResultCommit, error)
	Validators(ctx context.Context, height *int64, page, perPage *int) (*coretypes.ResultValidators, error)
	BlockResults(ctx context.Context, height *int64) (*coretypes.ResultBlockResults, error)
	ABCIQueryWithOptions(ctx context.Context, path string, data cmtbytes.HexBytes, opts rpcclient.ABCIQueryOptions) (*coretypes.ResultABCIQuery, error)
}

// Builder builds updates from a node's RPC. It remembers the last validator
// set it sent, to send it again only when it changes.
type Builder struct {
	rpc     RPC
	chainID string

	mu       sync.Mutex
	lastVals []byte // hash of the last validator set sent
}

// NewBuilder returns a Builder for the chain chainID served by rpc.
func NewBuilder(rpc RPC, chainID string) *Builder { return &Builder{rpc: rpc, chainID: chainID} }

// Build builds the update of block height: its signed header, its
// validator set (when it differs from the last one this Builder sent, or
// always with full), and, proven at state version height-1, block
// height-1's change list (chain.ChangesKey) and every record it names, plus
// the trust anchor set with full (a verifier's first update). The entries
// are in key order.
func (b *Builder) Build(ctx context.Context, height int64, full bool) (*feedpb.FeedUpdate, error) {
	x, err := b.build(ctx, height)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	u := x.view(b.lastVals, full)
	if len(u.ValidatorSet) > 0 {
		b.lastVals = x.valsHash
	}
	return u, nil
}

// built is one block's update with every part: the validator set and the
// anchor set always. view gives what is sent.
type built struct {
	height        int64
	all           *feedpb.FeedUpdate
	valsHash      []byte
	anchorsListed bool
	size          int
}

// view is the update as sent after an update whose validator set hashed to
// prevVals: the validator set only when it changed, the anchor set only
// when the block changed it; with full, everything.
func (x *built) view(prevVals []byte, full bool) *feedpb.FeedUpdate {
	u := &feedpb.FeedUpdate{ChainId: x.all.ChainId, Height: x.all.Height, SignedHeader: x.all.SignedHeader}
	if full || !bytes.Equal(prevVals, x.valsHash) {
		u.ValidatorSet = x.all.ValidatorSet
	}
	for _, e := range x.all.Entries {
		// Update 2 proves state 1, the first with the genesis anchors
		// (written before any block, so in no change list): it carries
		// them for verifiers anchored at block 1.
		if !full && !x.anchorsListed && x.height != 2 && bytes.Equal(e.Key, chain.AnchorsKey()) {
			continue
		}
		u.Entries = append(u.Entries, e)
	}
	return u
}

func (b *Builder) build(ctx context.Context, height int64) (*built, error) {
	c, err := b.rpc.Commit(ctx, &height)
	if err != nil {
		return nil, fmt.Errorf("feed: commit %d: %w", height, err)
	}
	if c.SignedHeader.Header == nil || c.SignedHeader.Commit == nil {
		return nil, fmt.Errorf("feed: the node has no header and commit for %d", height)
	}
	sh, err := encodeHeader(&c.SignedHeader)
	if err != nil {
		return nil, fmt.Errorf("feed: encode header %d: %w", height, err)
	}
	u := &feedpb.FeedUpdate{ChainId: b.chainID, Height: height, SignedHeader: sh}
	x := &built{height: height, all: u, valsHash: bytes.Clone(c.SignedHeader.ValidatorsHash)}
	vals, err := b.validators(ctx, height)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(vals.Hash(), c.SignedHeader.ValidatorsHash) {
		return nil, fmt.Errorf("feed: the node's validators of %d do not match the header", height)
	}
	if u.ValidatorSet, err = encodeVals(vals); err != nil {
		return nil, fmt.Errorf("feed: encode validators %d: %w", height, err)
	}
	if height >= 2 {
		version := height - 1
		list, err := b.proven(ctx, chain.ChangesKey(), version)
		if err != nil {
			return nil, err
		}
		changes, err := chain.DecodeChanges(list.Value)
		if err != nil {
			return nil, fmt.Errorf("feed: the node's change list at %d: %w", version, err)
		}
		if changes.Height != version {
			return nil, fmt.Errorf("feed: the node's change list at %d is block %d's", version, changes.Height)
		}
		u.Entries = append(u.Entries, list)
		for _, k := range changes.Keys {
			e, err := b.proven(ctx, k, version)
			if err != nil {
				return nil, err
			}
			u.Entries = append(u.Entries, e)
			x.anchorsListed = x.anchorsListed || bytes.Equal(k, chain.AnchorsKey())
		}
		if !x.anchorsListed {
			e, err := b.proven(ctx, chain.AnchorsKey(), version)
			if err != nil {
				return nil, err
			}
			u.Entries = append(u.Entries, e)
		}
		slices.SortFunc(u.Entries, func(a, b *feedpb.FeedEntry) int { return bytes.Compare(a.Key, b.Key) })
	}
	x.size = proto.Size(u)
	return x, nil
}

func (b *Builder) validators(ctx context.Context, height int64) (*cmttypes.ValidatorSet, error) {
	var vals []*cmttypes.Validator
	perPage := 100
	for page := 1; ; page++ {
		p := page
		r, err := b.rpc.Validators(ctx, &height, &p, &perPage)
		if err != nil {
			return nil, fmt.Errorf("feed: validators %d: %w", height, err)
		}
		vals = append(vals, r.Validators...)
		if len(vals) >= r.Total || len(r.Validators) == 0 {
			break
		}
	}
	set, err := cmttypes.ValidatorSetFromExistingValidators(vals)
	if err != nil {
		return nil, fmt.Errorf("feed: validators %d: %w", height, err)
	}
	return set, nil
}

// proven reads key at state version with its proof.
func (b *Builder) proven(ctx context.Context, key []byte, version int64) (*feedpb.FeedEntry, error) {
	r, err := b.rpc.ABCIQueryWithOptions(ctx, chain.PathKey, key, rpcclient.ABCIQueryOptions{Height: version, Prove: true})
	if err != nil {
		return nil, fmt.Errorf("feed: query %x at %d: %w", key, version, err)
	}
	q := r.Response
	if q.Code != abci.CodeTypeOK {
		return nil, fmt.Errorf("feed: query %x at %d: %s (code %d)", key, version, q.Log, q.Code)
	}
	if q.Height != version || q.ProofOps == nil || len(q.ProofOps.Ops) != 1 || q.ProofOps.Ops[0].Type != chain.ProofOpIAVL {
		return nil, fmt.Errorf("feed: query %x at %d: the node answered for %d without one %s proof", key, version, q.Height, chain.ProofOpIAVL)
	}
	return &feedpb.FeedEntry{Key: bytes.Clone(key), Value: q.Value, Proof: q.ProofOps.Ops[0].Data}, nil
}
