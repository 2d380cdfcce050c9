package app_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
)

// bulkRevocations returns n RevokeSubjects transactions of the reader
// (sequences 0..n-1) of 256 made-up commitments each: a bulk CRL import.
func bulkRevocations(t *testing.T, w *fixture.World, n int) [][]byte {
	t.Helper()
	var txs [][]byte
	for i := 0; i < n; i++ {
		var subs [][]byte
		for j := 0; j < 256; j++ {
			s := sha256.Sum256(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(i)), uint32(j)))
			subs = append(subs, s[:])
		}
		raw, err := w.Sign(&chainpb.TxBody{Sequence: uint64(i), Msg: &chainpb.TxBody_RevokeSubjects{RevokeSubjects: &chainpb.RevokeSubjects{
			Commitments: subs, Reason: "crl", EffectiveTime: fixture.Now.Unix()}}}, fixture.Reader, "")
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, raw)
	}
	return txs
}

// TestPrepareProposalLeavesChangesForNextBlock: a mempool of bulk
// revocations that together change more status records than one block's
// feed update may carry is proposed over several blocks; a proposer that
// packs them anyway gets the excess refused with CodeBlockChangesFull.
func TestPrepareProposalLeavesChangesForNextBlock(t *testing.T) {
	w, a := atBlock1(t)
	txs := bulkRevocations(t, w, 10)
	for _, raw := range txs {
		if r, err := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw}); err != nil || r.Code != 0 {
			t.Fatalf("CheckTx: %v %+v", err, r)
		}
	}
	res, err := a.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: txs, MaxTxBytes: 4 << 20, Height: 2, Time: fixture.Now.Add(2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	n := len(res.Txs)
	if n == 0 || n >= len(txs) {
		t.Fatalf("proposal has %d of %d bulk revocations, want a full block's worth", n, len(txs))
	}
	for i := range res.Txs {
		if !bytes.Equal(res.Txs[i], txs[i]) {
			t.Fatalf("proposal tx %d is not the mempool's", i)
		}
	}
	// A proposer that packs them all: the excess is refused, writes nothing.
	fb := block(t, a, 2, txs...)
	for i, r := range fb.TxResults {
		want := uint32(0)
		switch {
		case i == n:
			want = uint32(chain.CodeBlockChangesFull)
		case i > n: // the reader's sequence did not move
			want = uint32(chain.CodeBadSequence)
		}
		if r.Code != want {
			t.Fatalf("tx %d: code %d (%s), want %d", i, r.Code, r.Log, want)
		}
	}
	// The next block takes the rest.
	res, err = a.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: txs[n:], MaxTxBytes: 4 << 20, Height: 3, Time: fixture.Now.Add(3 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Txs) != len(txs)-n {
		t.Fatalf("next proposal has %d txs, want %d", len(res.Txs), len(txs)-n)
	}
	for i, r := range block(t, a, 3, res.Txs...).TxResults {
		if r.Code != 0 {
			t.Fatalf("next block tx %d: code %d %s", i, r.Code, r.Log)
		}
	}
}
