package app_test

import (
	"crypto/sha256"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/internal/fixture"
)

// TestRecheckDropsAttestationUnderRemovedAnchor: after a block removes a
// trust anchor, an attestation admitted earlier under it can never be
// proposed again (PrepareProposal leaves out a certificate that no longer
// chains, and with it every later transaction of the same member, which
// waits for its sequence). So the recheck must refuse it: kept, it would
// hold the attester's pipeline until its not-after (up to the maximum
// lifetime), with every later transaction of the attester admitted but
// never proposed.
func TestRecheckDropsAttestationUnderRemovedAnchor(t *testing.T) {
	w := world(t)
	gen := tweakedGenesis(t, w, func(s *genesis.AppState) {
		s.Params.GovernorThreshold = 1
		s.Anchors = append(s.Anchors, genesis.Anchor{Kind: "auth", Certificate: w.OtherCA.CertDER})
	})
	a := openApp(t, t.TempDir())
	defer a.Close()
	initWith(t, a, gen)
	block(t, a, 1)

	// The attester's queue: Alice (under the auth CA that is going), then
	// the stranger (under the other CA, which stays).
	var queue [][]byte
	for i, h := range []string{fixture.Alice, fixture.Stranger} {
		raw, err := w.AttestTx(fixture.Attest{Member: fixture.Attester, Holder: h, Sequence: uint64(i), ClaimType: "kyc"})
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw}); r.Code != 0 {
			t.Fatalf("CheckTx %d: %d %s", i, r.Code, r.Log)
		}
		queue = append(queue, raw)
	}

	id := sha256.Sum256(w.AuthCA.CertDER)
	rm := proposeTx(t, w, fixture.Operator, 0, &chainpb.GovAction{Action: &chainpb.GovAction_RemoveAnchor{RemoveAnchor: id[:]}})
	if res := block(t, a, 2, rm); res.TxResults[0].Code != 0 {
		t.Fatalf("remove_anchor: %d %s", res.TxResults[0].Code, res.TxResults[0].Log)
	}

	// What a proposer does with the queue now: nothing of the attester's.
	prep, err := a.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: queue, MaxTxBytes: 1 << 20, Height: 3, Time: fixture.Now.Add(3 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if len(prep.Txs) != 0 {
		t.Fatalf("the proposal holds %d of the attester's transactions, want none (the first no longer chains)", len(prep.Txs))
	}

	// The mempool's recheck after block 2 must drop the first one.
	r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: queue[0], Type: abci.CheckTxType_Recheck})
	if r.Code != uint32(chain.CodeCertUnknownIssuer) {
		t.Fatalf("recheck of an attestation under the removed anchor: code %d %q, want %d (it stays in the mempool and no block ever takes it or the attester's later transactions)", r.Code, r.Log, chain.CodeCertUnknownIssuer)
	}
}
