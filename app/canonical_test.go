package app_test

import (
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/internal/fixture"
)

// TestCheckTxRefusesReencodedCopy: a stranger who re-encodes a waiting
// transaction (a discarded first copy of a field, carrying what they like)
// gets the copy refused at the mempool, so it neither races the original
// under another hash nor carries unsigned bytes into a block; the original
// is admitted.
func TestCheckTxRefusesReencodedCopy(t *testing.T) {
	w, a := atBlock1(t)
	raw, err := w.AttestTx(fixture.Attest{Sequence: 0})
	if err != nil {
		t.Fatal(err)
	}
	junk := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("123456789018"))
	if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: append(junk, raw...)}); r.Code != uint32(chain.CodeMalformedTx) {
		t.Fatalf("the re-encoded copy: code %d %q, want %d", r.Code, r.Log, chain.CodeMalformedTx)
	}
	if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw}); r.Code != 0 {
		t.Fatalf("the original: code %d %s", r.Code, r.Log)
	}
}
