package client

// Submission: broadcasting a signed transaction, waiting for its block, and
// signing as a member with the right sequence number.

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/signer"
)

// TxError is a transaction the chain refused: in CheckTx (Stage "check":
// nothing was committed), in FinalizeBlock (Stage "deliver": committed at
// Height with a non-zero code, no state change), or here by the chain's
// rules before the holder signed (Stage StageLocal: nothing was sent). Code and Log are the app's
// code and plain message (see chain.Code).
type TxError struct {
	Stage     string
	Code      uint32
	Codespace string
	Log       string
	Hash      []byte
	Height    int64
}

func (e *TxError) Error() string {
	if e.Codespace != "" && e.Codespace != "idledger" {
		return fmt.Sprintf("%s (%s code %d)", e.Log, e.Codespace, e.Code)
	}
	return fmt.Sprintf("%s (code %d)", e.Log, e.Code)
}

// TxResult is a committed transaction.
type TxResult struct {
	Hash   []byte
	Height int64
	Index  uint32
	// Code is the FinalizeBlock result: 0 when the transaction applied.
	Code   uint32
	Log    string
	Events []abci.Event
}

// Err returns a *TxError for a committed transaction that failed, or nil.
func (r *TxResult) Err() error {
	if r.Code == abci.CodeTypeOK {
		return nil
	}
	return &TxError{Stage: "deliver", Code: r.Code, Log: r.Log, Hash: r.Hash, Height: r.Height}
}

// Submit broadcasts tx (broadcast_tx_sync) and waits until it is committed.
// A CheckTx refusal is returned as a *TxError with Stage "check"; a
// committed transaction returns its result, whose Code may be non-zero
// (see TxResult.Err). When ctx has no deadline Submit waits at most the
// client's commit timeout.
func (c *Client) Submit(ctx context.Context, tx []byte) (*TxResult, error) {
	if c.Generating() {
		return nil, c.generate(tx)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.commitTimeout)
		defer cancel()
	}
	r, err := c.rpc.BroadcastTxSync(ctx, tx)
	if err != nil {
		return nil, c.rpcErr("broadcast", err)
	}
	if r.Code != abci.CodeTypeOK {
		return nil, &TxError{Stage: "check", Code: r.Code, Codespace: r.Codespace, Log: r.Log, Hash: r.Hash}
	}
	hash := []byte(r.Hash)
	for {
		res, err := c.rpc.Tx(ctx, hash, false)
		if err == nil {
			return &TxResult{
				Hash:   hash,
				Height: res.Height,
				Index:  res.Index,
				Code:   res.TxResult.Code,
				Log:    res.TxResult.Log,
				Events: res.TxResult.Events,
			}, nil
		}
		if !strings.Contains(err.Error(), "not found") {
			return nil, c.rpcErr("tx", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("client: transaction %X was accepted but not committed in time (it may still be in the mempool, or have been dropped): %w", hash, ctx.Err())
		case <-time.After(c.opts.pollInterval):
		}
	}
}

// submitSubjectSigned has the subject's JPKI key sign body, adds the member
// signature when member is set, submits the transaction and waits for its
// commit. A refusal, in CheckTx or in the block, is a *TxError.
func (c *Client) submitSubjectSigned(ctx context.Context, subject signer.Signer, body []byte, member ed25519.PrivateKey) (*TxResult, error) {
	sig, err := signer.Sign(ctx, subject, chain.SignBytes(body))
	if err != nil {
		return nil, fmt.Errorf("client: subject signature: %w", err)
	}
	tx, err := chain.EncodeTx(body, member, sig)
	if err != nil {
		return nil, err
	}
	res, err := c.Submit(ctx, tx)
	if err != nil {
		return nil, err
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// MemberAuth says which member signs a transaction.
type MemberAuth struct {
	// ID is the member; "" means the member whose registered key is Key.
	ID  string
	Key ed25519.PrivateKey
	// ChainID to sign for; "" means the node's.
	ChainID string
}

// MemberTxResult is a committed member-signed transaction that applied.
type MemberTxResult struct {
	TxResult
	// Member and Sequence are the signer and the sequence number it used.
	Member   string
	Sequence uint64
}

// sequenceRetries bounds how often SubmitMemberTx rebuilds a transaction
// whose sequence number the node's mempool has already seen used (an earlier
// transaction of the member still waiting for its block).
const sequenceRetries = 5

// resolveMember finds the member a MemberAuth names and checks that its
// registered key is the one given.
func (c *Client) resolveMember(ctx context.Context, auth MemberAuth) (*chainpb.Member, error) {
	if len(auth.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("client: no member key")
	}
	if c.Generating() {
		return c.offlineMember(auth)
	}
	pub := auth.Key.Public().(ed25519.PublicKey)
	if auth.ID == "" {
		return c.MemberByKey(ctx, pub)
	}
	mem, err := c.Member(ctx, auth.ID)
	if err != nil {
		return nil, err
	}
	if !pub.Equal(ed25519.PublicKey(mem.PubKey)) {
		return nil, fmt.Errorf("client: the member key is not member %q's registered key", mem.Id)
	}
	return mem, nil
}

func (c *Client) chainIDOr(ctx context.Context, id string) (string, error) {
	if id != "" {
		return id, nil
	}
	return c.ChainID(ctx)
}

// SubmitMemberTx signs a transaction as a member and submits it: it reads
// the member's next sequence number from the node, fills in body's chain ID,
// signer and sequence (body's message must be set), signs the encoded body
// with the member key, submits it and waits for its commit. A refusal, in
// CheckTx or in the block, is a *TxError. When the node's mempool already
// holds an earlier transaction of the member (the committed sequence is
// behind), it waits for a block and tries again with the next number.
func (c *Client) SubmitMemberTx(ctx context.Context, auth MemberAuth, body *chainpb.TxBody) (*MemberTxResult, error) {
	if body == nil || body.Msg == nil {
		return nil, errors.New("client: a transaction needs a message")
	}
	chainID, err := c.chainIDOr(ctx, auth.ChainID)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		mem, err := c.resolveMember(ctx, auth)
		if err != nil {
			return nil, err
		}
		body.ChainId, body.Signer, body.Sequence = chainID, mem.Id, mem.Sequence
		raw, err := chain.EncodeBody(body)
		if err != nil {
			return nil, err
		}
		tx, err := chain.EncodeTx(raw, auth.Key, nil)
		if err != nil {
			return nil, err
		}
		res, err := c.Submit(ctx, tx)
		var te *TxError
		if errors.As(err, &te) && te.Stage == "check" && te.Code == uint32(chain.CodeBadSequence) && attempt < sequenceRetries {
			if err := c.nextBlock(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := res.Err(); err != nil {
			return nil, err
		}
		return &MemberTxResult{TxResult: *res, Member: mem.Id, Sequence: mem.Sequence}, nil
	}
}

// nextBlock waits until the node commits a block after its current one.
func (c *Client) nextBlock(ctx context.Context) error {
	if c.Generating() {
		return c.offlineErr("waiting for a block")
	}
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return c.rpcErr("status", err)
	}
	return c.waitHeight(ctx, st.SyncInfo.LatestBlockHeight+1)
}

func eventAttr(evs []abci.Event, typ, key string) string {
	for _, e := range evs {
		if e.Type != typ {
			continue
		}
		for _, a := range e.Attributes {
			if a.Key == key {
				return a.Value
			}
		}
	}
	return ""
}
