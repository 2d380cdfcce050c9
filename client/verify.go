package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	lighthttp "github.com/cometbft/cometbft/light/provider/http"
	lightdb "github.com/cometbft/cometbft/light/store/db"
	cmttypes "github.com/cometbft/cometbft/types"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/idledger/idledger/chain"
)

// TrustInfo says what a verification started from.
type TrustInfo struct {
	// Source is "genesis file" (WithGenesis), "node genesis" (the genesis
	// the node itself served) or "checkpoint" (WithTrustedHeader).
	Source string `json:"source"`
	// Height and Hash are the trusted header the light client started from.
	Height int64  `json:"height"`
	Hash   []byte `json:"hash"`
	// Period is the trusting period.
	Period time.Duration `json:"period"`
}

// Trust sources.
const (
	TrustGenesisFile = "genesis file"
	TrustNodeGenesis = "node genesis"
	TrustCheckpoint  = "checkpoint"
)

// Proven is a value read with a proof that checked out.
type Proven struct {
	Key   []byte
	Value []byte // nil: proven absent
	// Height is the state version; Header is the verified header of block
	// Height+1, whose AppHash the proof was checked against.
	Height int64
	Header *cmttypes.Header
	Trust  *TrustInfo
}

// VerifiedGet reads one stored value with its ICS23 proof, waits for the
// next block, verifies that block's header with the light client and checks
// the proof (of existence, or of absence when the value is empty) against
// the header's app hash. Any failure is an error; verification failures wrap
// ErrVerification.
func (c *Client) VerifiedGet(ctx context.Context, key []byte) (*Proven, error) {
	lc, trust, err := c.lightClient(ctx)
	if err != nil {
		return nil, err
	}
	r, err := c.query(ctx, chain.PathKey, key, true)
	if err != nil {
		return nil, err
	}
	if r.Height <= 0 {
		return nil, fmt.Errorf("client: %w: the node answered for height %d", ErrVerification, r.Height)
	}
	proof, err := proofOf(r, key)
	if err != nil {
		return nil, err
	}
	if err := c.waitHeight(ctx, r.Height+1); err != nil {
		return nil, err
	}
	lb, err := lc.VerifyLightBlockAtHeight(ctx, r.Height+1, c.opts.now())
	if err != nil {
		return nil, c.lightErr(r.Height+1, trust, err)
	}
	if err := checkProof(proof, key, r.Value, lb.AppHash); err != nil {
		return nil, err
	}
	p := &Proven{Key: key, Height: r.Height, Header: lb.Header, Trust: trust}
	if len(r.Value) > 0 {
		p.Value = r.Value
	}
	return p, nil
}

func (c *Client) lightErr(height int64, trust *TrustInfo, err error) error {
	var expired light.ErrOldHeaderExpired
	if errors.As(err, &expired) {
		return fmt.Errorf("client: %w: the trusted header at height %d (%s) is older than the trusting period %s; "+
			"give a recent trusted height and hash from a source you trust, or a longer trust period",
			ErrVerification, trust.Height, expired.At.Add(-trust.Period).UTC().Format(time.RFC3339), trust.Period)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("client: verifying header %d: %w", height, err)
	}
	return fmt.Errorf("client: %w: header %d: %v", ErrVerification, height, err)
}

// proofOf extracts the ICS23 proof of key from a "/key" answer.
func proofOf(r *abci.ResponseQuery, key []byte) (*ics23.CommitmentProof, error) {
	if !bytes.Equal(r.Key, key) {
		return nil, fmt.Errorf("client: %w: the node answered for key %x, not %x", ErrVerification, r.Key, key)
	}
	if r.ProofOps == nil || len(r.ProofOps.Ops) != 1 {
		return nil, fmt.Errorf("client: %w: the node sent no proof (want one %s proof op)", ErrVerification, chain.ProofOpIAVL)
	}
	op := r.ProofOps.Ops[0]
	p, err := chain.DecodeProofOp(key, op.Type, op.Key, op.Data)
	if err != nil {
		return nil, fmt.Errorf("client: %w: %w", ErrVerification, err)
	}
	return p, nil
}

// checkProof is chain.CheckProof, its failure an ErrVerification.
func checkProof(p *ics23.CommitmentProof, key, value, root []byte) error {
	if err := chain.CheckProof(p, key, value, root); err != nil {
		return fmt.Errorf("client: %w: %w", ErrVerification, err)
	}
	return nil
}

// waitHeight waits until the node has committed block height.
func (c *Client) waitHeight(ctx context.Context, height int64) error {
	for {
		st, err := c.rpc.Status(ctx)
		if err != nil {
			return c.rpcErr("status", err)
		}
		if st.SyncInfo.LatestBlockHeight >= height {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("client: waiting for block %d (the node is at %d): %w", height, st.SyncInfo.LatestBlockHeight, ctx.Err())
		case <-time.After(c.opts.pollInterval):
		}
	}
}

// lightClient returns the client's light client, making it on first use
// from the configured trust root.
func (c *Client) lightClient(ctx context.Context) (*light.Client, *TrustInfo, error) {
	c.mu.Lock()
	lc, trust := c.light, c.trust
	c.mu.Unlock()
	if lc != nil {
		return lc, trust, nil
	}
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, nil, err
	}
	trust, err = c.trustRoot(ctx, chainID)
	if err != nil {
		return nil, nil, err
	}
	primary := lighthttp.NewWithClient(chainID, c.rpc)
	var witnesses []provider.Provider
	for _, u := range c.opts.witnesses {
		w, err := lighthttp.New(chainID, u)
		if err != nil {
			return nil, nil, fmt.Errorf("client: witness %s: %w", u, err)
		}
		witnesses = append(witnesses, w)
	}
	if len(witnesses) == 0 {
		witnesses = []provider.Provider{lighthttp.NewWithClient(chainID, c.rpc)}
	}
	lc, err = light.NewClient(ctx, chainID,
		light.TrustOptions{Period: trust.Period, Height: trust.Height, Hash: trust.Hash},
		primary, witnesses, lightdb.New(dbm.NewMemDB(), chainID),
		light.Logger(c.opts.logger),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("client: %w: starting the light client from height %d: %v", ErrVerification, trust.Height, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.light == nil {
		c.light, c.trust = lc, trust
	}
	return c.light, c.trust, nil
}

// trustRoot returns the light client's checkpoint: the one configured, or
// the first block of the genesis, accepted only when its commit verifies
// with the genesis validators.
func (c *Client) trustRoot(ctx context.Context, chainID string) (*TrustInfo, error) {
	if c.opts.trustHeight != 0 {
		return &TrustInfo{Source: TrustCheckpoint, Height: c.opts.trustHeight, Hash: c.opts.trustHash, Period: c.opts.trustPeriod}, nil
	}
	doc, source := c.opts.genesis, TrustGenesisFile
	if doc == nil {
		g, err := c.rpc.Genesis(ctx)
		if err != nil {
			return nil, c.rpcErr("genesis", err)
		}
		doc, source = g.Genesis, TrustNodeGenesis
	}
	h, hash, err := c.genesisCheckpoint(ctx, chainID, doc)
	if err != nil {
		return nil, err
	}
	return &TrustInfo{Source: source, Height: h, Hash: hash, Period: c.opts.trustPeriod}, nil
}

// genesisCheckpoint fetches the first block's header and commit and checks
// them against doc: same chain, the genesis validators' hash, and +2/3 of
// their power signing it.
func (c *Client) genesisCheckpoint(ctx context.Context, chainID string, doc *cmttypes.GenesisDoc) (int64, []byte, error) {
	if doc.ChainID != chainID {
		return 0, nil, fmt.Errorf("client: %w: the genesis is for chain %q but the node serves %q", ErrVerification, doc.ChainID, chainID)
	}
	if len(doc.Validators) == 0 {
		return 0, nil, fmt.Errorf("client: %w: the genesis names no validators; give a trusted height and hash instead", ErrVerification)
	}
	vals := make([]*cmttypes.Validator, len(doc.Validators))
	for i, v := range doc.Validators {
		vals[i] = cmttypes.NewValidator(v.PubKey, v.Power)
	}
	valset := cmttypes.NewValidatorSet(vals)
	if err := valset.ValidateBasic(); err != nil {
		return 0, nil, fmt.Errorf("client: %w: genesis validators: %v", ErrVerification, err)
	}
	height := doc.InitialHeight
	if height == 0 {
		height = 1
	}
	if err := c.waitHeight(ctx, height); err != nil {
		return 0, nil, err
	}
	res, err := c.rpc.Commit(ctx, &height)
	if err != nil {
		if st, serr := c.rpc.Status(ctx); serr == nil && st.SyncInfo.EarliestBlockHeight > height {
			return 0, nil, fmt.Errorf("client: verifying from the genesis needs block %d, which this node pruned (it keeps blocks from %d on: "+
				"the chain's block_retention); verify from a recent block you trust instead: --trust-height H --trust-hash HASH",
				height, st.SyncInfo.EarliestBlockHeight)
		}
		return 0, nil, c.rpcErr("commit", err)
	}
	sh := res.SignedHeader
	if sh.Header == nil || sh.Commit == nil {
		return 0, nil, fmt.Errorf("client: %w: the node sent no header or commit for block %d", ErrVerification, height)
	}
	if err := sh.ValidateBasic(chainID); err != nil {
		return 0, nil, fmt.Errorf("client: %w: block %d: %v", ErrVerification, height, err)
	}
	if sh.Height != height {
		return 0, nil, fmt.Errorf("client: %w: asked for block %d, got %d", ErrVerification, height, sh.Height)
	}
	if !bytes.Equal(sh.ValidatorsHash, valset.Hash()) {
		return 0, nil, fmt.Errorf("client: %w: block %d's validators (hash %X) are not the genesis validators (hash %X)",
			ErrVerification, height, sh.ValidatorsHash, valset.Hash())
	}
	if err := valset.VerifyCommitLight(chainID, sh.Commit.BlockID, height, sh.Commit); err != nil {
		return 0, nil, fmt.Errorf("client: %w: block %d's commit does not verify with the genesis validators: %v", ErrVerification, height, err)
	}
	return height, sh.Hash(), nil
}
