package client

import (
	"context"
	"fmt"
	"strconv"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
)

// ProposalResult is a committed proposal or vote and the proposal's state
// after it.
type ProposalResult struct {
	MemberTxResult
	Proposal *chainpb.Proposal
	// Threshold is the governor threshold the votes count against.
	Threshold uint32
}

// Propose proposes a governance action (the proposer's vote counts) and
// returns the proposal as it stands after the block: open, or executed (or
// failed) when the proposer's vote alone reached the threshold.
func (c *Client) Propose(ctx context.Context, auth MemberAuth, action *chainpb.GovAction) (*ProposalResult, error) {
	if err := chain.CheckAction(action); err != nil {
		return nil, fmt.Errorf("client: propose: %w", err)
	}
	r, err := c.SubmitMemberTx(ctx, auth, &chainpb.TxBody{Msg: &chainpb.TxBody_Propose{Propose: &chainpb.Propose{Action: action}}})
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseUint(eventAttr(r.Events, "propose", "proposal_id"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("client: transaction %X committed at height %d without a proposal ID in its events", r.Hash, r.Height)
	}
	return c.proposalAfter(ctx, r, id)
}

// Vote votes yes on proposal id and returns the proposal as it stands after
// the block.
func (c *Client) Vote(ctx context.Context, auth MemberAuth, id uint64) (*ProposalResult, error) {
	r, err := c.SubmitMemberTx(ctx, auth, &chainpb.TxBody{Msg: &chainpb.TxBody_Vote{Vote: &chainpb.Vote{ProposalId: id}}})
	if err != nil {
		return nil, err
	}
	return c.proposalAfter(ctx, r, id)
}

func (c *Client) proposalAfter(ctx context.Context, r *MemberTxResult, id uint64) (*ProposalResult, error) {
	// The node's latest state is at least the transaction's block.
	p, err := c.Proposal(ctx, id)
	if err != nil {
		return nil, err
	}
	params, err := c.Params(ctx)
	if err != nil {
		return nil, err
	}
	return &ProposalResult{MemberTxResult: *r, Proposal: p, Threshold: params.GovernorThreshold}, nil
}

// Proposal reads a governance proposal. An unknown ID is an error wrapping
// ErrNotFound.
func (c *Client) Proposal(ctx context.Context, id uint64) (*chainpb.Proposal, error) {
	v, _, err := c.Get(ctx, chain.ProposalKey(id))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("client: proposal %d: %w", id, ErrNotFound)
	}
	return decode[chainpb.Proposal]("proposal", v)
}

// Proposals lists every proposal, oldest first.
func (c *Client) Proposals(ctx context.Context) ([]*chainpb.Proposal, error) {
	kvs, _, err := c.Range(ctx, chain.ProposalsPrefix())
	if err != nil {
		return nil, err
	}
	out := make([]*chainpb.Proposal, 0, len(kvs))
	for _, kv := range kvs {
		if len(kv.Key) != 9 {
			continue
		}
		p, err := decode[chainpb.Proposal]("proposal", kv.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Validators lists the validators the app knows (member, consensus key,
// power), in key order.
func (c *Client) Validators(ctx context.Context) ([]*chainpb.Validator, error) {
	kvs, _, err := c.Range(ctx, chain.ValidatorsPrefix())
	if err != nil {
		return nil, err
	}
	out := make([]*chainpb.Validator, 0, len(kvs))
	for _, kv := range kvs {
		v, err := decode[chainpb.Validator]("validator", kv.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
