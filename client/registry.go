package client

import (
	"context"
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
)

// ClaimTypes lists the claim-type registry in name order, retired entries
// included, without proofs.
func (c *Client) ClaimTypes(ctx context.Context) ([]*chainpb.ClaimType, error) {
	pairs, _, err := c.Range(ctx, chain.ClaimTypesPrefix())
	if err != nil {
		return nil, err
	}
	out := make([]*chainpb.ClaimType, 0, len(pairs))
	for _, kv := range pairs {
		ct, err := decode[chainpb.ClaimType]("claim type", kv.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, ct)
	}
	return out, nil
}

// ClaimType reads one registry entry. With verify it is proven against a
// light-client-verified header. An unregistered name is an error wrapping
// ErrNotFound.
func (c *Client) ClaimType(ctx context.Context, name string, verify bool) (*chainpb.ClaimType, error) {
	key := chain.ClaimTypeKey(name)
	var v []byte
	if verify {
		p, err := c.VerifiedGet(ctx, key)
		if err != nil {
			return nil, err
		}
		v = p.Value
	} else {
		var err error
		if v, _, err = c.Get(ctx, key); err != nil {
			return nil, err
		}
	}
	if v == nil {
		return nil, fmt.Errorf("client: claim type %q: %w", name, ErrNotFound)
	}
	return decode[chainpb.ClaimType]("claim type", v)
}

// verifiedGetAt reads key at state height with its proof and checks it
// against header, the already verified header of block height+1: a second
// value under the same app hash as a first one VerifiedGet proved.
func (c *Client) verifiedGetAt(ctx context.Context, key []byte, height int64, header *cmttypes.Header) ([]byte, error) {
	r, err := c.queryAt(ctx, chain.PathKey, key, true, height)
	if err != nil {
		return nil, err
	}
	if r.Height != height {
		return nil, fmt.Errorf("client: %w: asked for height %d, the node answered for %d", ErrVerification, height, r.Height)
	}
	proof, err := proofOf(r, key)
	if err != nil {
		return nil, err
	}
	if err := checkProof(proof, key, r.Value, header.AppHash); err != nil {
		return nil, err
	}
	if len(r.Value) == 0 {
		return nil, nil
	}
	return r.Value, nil
}

// claimTypeEntry fills st.ClaimTypeEntry: the registry entry of the status's
// claim type at the same state height, proven under the same app hash when
// st is verified.
func (c *Client) claimTypeEntry(ctx context.Context, st *Status, header *cmttypes.Header) error {
	key := chain.ClaimTypeKey(st.ClaimType)
	var v []byte
	var err error
	if header != nil {
		v, err = c.verifiedGetAt(ctx, key, st.Height, header)
	} else {
		var r, qerr = c.queryAt(ctx, chain.PathKey, key, false, st.Height)
		v, err = r.GetValue(), qerr
	}
	if err != nil {
		return err
	}
	if len(v) == 0 {
		return nil
	}
	st.ClaimTypeEntry, err = decode[chainpb.ClaimType]("claim type", v)
	return err
}

// VerifiedHeader verifies the header of block height with the light client
// from the client's trust root and returns it with its validator set. The
// explorer marks a block verified only through this.
func (c *Client) VerifiedHeader(ctx context.Context, height int64) (*cmttypes.LightBlock, error) {
	lc, trust, err := c.lightClient(ctx)
	if err != nil {
		return nil, err
	}
	lb, err := lc.VerifyLightBlockAtHeight(ctx, height, c.opts.now())
	if err != nil {
		return nil, c.lightErr(height, trust, err)
	}
	return lb, nil
}

// Trust returns the root the client's light client verifies from, starting
// the light client if it has not yet started.
func (c *Client) Trust(ctx context.Context) (*TrustInfo, error) {
	_, trust, err := c.lightClient(ctx)
	return trust, err
}
