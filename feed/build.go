package feed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

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
// set and anchor set it sent, to send them again only when they change.
type Builder struct {
	rpc     RPC
	chainID string

	mu          sync.Mutex
	lastVals    []byte // hash of the last validator set sent
	lastAnchors [32]byte
	sentAnchors bool
}

// NewBuilder returns a Builder for the chain chainID served by rpc.
func NewBuilder(rpc RPC, chainID string) *Builder { return &Builder{rpc: rpc, chainID: chainID} }

// Build builds the update of block height: its signed header, its
// validator set (when it differs from the last one this Builder sent, or
// always with full), the trust anchor set (when it changed, or with full),
// and the ClaimStatus records block height-1 changed, each with its proof at
// state version height-1.
func (b *Builder) Build(ctx context.Context, height int64, full bool) (*feedpb.FeedUpdate, error) {
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

	b.mu.Lock()
	sendVals := full || !bytes.Equal(b.lastVals, c.SignedHeader.ValidatorsHash)
	b.mu.Unlock()
	if sendVals {
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
	}
	if height < 2 {
		return u, b.sent(u, c.SignedHeader.ValidatorsHash, nil)
	}
	version := height - 1
	var keys [][]byte
	res, err := b.rpc.BlockResults(ctx, &version)
	if err != nil {
		return nil, fmt.Errorf("feed: block results %d: %w", version, err)
	}
	var events []abci.Event
	for _, r := range res.TxsResults {
		if r.Code == abci.CodeTypeOK {
			events = append(events, r.Events...)
		}
	}
	events = append(events, res.FinalizeBlockEvents...)
	keys = ChangedClaimKeys(events)

	anchors, err := b.proven(ctx, chain.AnchorsKey(), version)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(anchors.Value)
	b.mu.Lock()
	sendAnchors := full || !b.sentAnchors || digest != b.lastAnchors
	b.mu.Unlock()
	if sendAnchors {
		u.Entries = append(u.Entries, anchors)
	}
	for _, k := range keys {
		e, err := b.proven(ctx, k, version)
		if err != nil {
			return nil, err
		}
		u.Entries = append(u.Entries, e)
	}
	var ad *[32]byte
	if sendAnchors {
		ad = &digest
	}
	return u, b.sent(u, c.SignedHeader.ValidatorsHash, ad)
}

// sent remembers what u carried. Gossip and each sync answer use their own
// Builder, so that one does not hide a change from the other.
func (b *Builder) sent(u *feedpb.FeedUpdate, valsHash []byte, anchors *[32]byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(u.ValidatorSet) > 0 {
		b.lastVals = bytes.Clone(valsHash)
	}
	if anchors != nil {
		b.lastAnchors, b.sentAnchors = *anchors, true
	}
	return nil
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
