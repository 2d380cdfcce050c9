package app_test

import (
	"bytes"
	"crypto/sha256"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
)

// hostileTxs are transactions a faulty or hostile proposer could put in a
// block, by what is wrong with each. None may reach the block store.
func hostileTxs(t *testing.T, w *fixture.World) map[string][]byte {
	t.Helper()
	must := func(raw []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	many := make([][]byte, 600) // 600 commitments: about 20 KB, over the 16 KiB cap
	for i := range many {
		c := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		many[i] = c[:]
	}
	return map[string][]byte{
		"undecodable":           []byte("\x0a\xffjunk"),
		"signing certificate":   must(w.AttestTx(fixture.Attest{Holder: fixture.Signing})),
		"My Number in a reason": signTx(t, w, &chainpb.TxBody{Msg: &chainpb.TxBody_RevokeAttestation{RevokeAttestation: &chainpb.RevokeAttestation{AttestationId: chain.AttestationID(1, 0), Reason: "holder 123456789018 asked"}}}, fixture.Operator, ""),
		"oversized":             signTx(t, w, &chainpb.TxBody{Msg: &chainpb.TxBody_RevokeSubjects{RevokeSubjects: &chainpb.RevokeSubjects{Commitments: many, Reason: "x"}}}, fixture.Operator, ""),
		"bad member signature":  must(w.AttestTx(fixture.Attest{Holder: fixture.Bob, Tamper: func(tx *chainpb.Tx) { tx.MemberSignature[3] ^= 1 }})),
		"bad subject signature": must(w.AttestTx(fixture.Attest{Holder: fixture.Bob, Tamper: func(tx *chainpb.Tx) { tx.SubjectSignature[3] ^= 1 }})),
		"untrusted CA":          must(w.AttestTx(fixture.Attest{Holder: fixture.Stranger})),
		"another chain":         must(w.AttestTx(fixture.Attest{ChainID: "other"})),
		"My Number in a member's name": signTx(t, w, &chainpb.TxBody{Msg: &chainpb.TxBody_Propose{Propose: &chainpb.Propose{Action: &chainpb.GovAction{
			Action: &chainpb.GovAction_AddMember{AddMember: &chainpb.Member{Id: "bank", Name: "Bank 123456789018", PubKey: key("bank"), Roles: []string{chain.RoleAttester}}}}}}}, fixture.Operator, ""),
	}
}

func process(t *testing.T, a *app.App, txs ...[]byte) abci.ResponseProcessProposal_ProposalStatus {
	t.Helper()
	res, err := a.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: txs, Height: 2, Time: fixture.Now.Add(2e9)})
	if err != nil {
		t.Fatal(err)
	}
	return res.Status
}

// TestByzantineProposalsRefused: ProcessProposal rejects a block holding
// any hostile transaction, or the same transaction twice, and accepts
// honest blocks, including ones whose transactions fail on state (a
// sequence out of turn), which FinalizeBlock refuses with a code.
func TestByzantineProposalsRefused(t *testing.T) {
	w := world(t)
	a := openApp(t, t.TempDir())
	defer a.Close()
	initChain(t, a, w)
	block(t, a, 1)
	honest := attestTxs(t, w, fixture.Alice, fixture.Bob)
	for name, bad := range hostileTxs(t, w) {
		for _, txs := range [][][]byte{{bad}, {honest[0], bad}, {bad, honest[0]}} {
			if got := process(t, a, txs...); got != abci.ResponseProcessProposal_REJECT {
				t.Errorf("%s: %v, want REJECT", name, got)
			}
		}
	}
	if got := process(t, a, honest[0], honest[0]); got != abci.ResponseProcessProposal_REJECT {
		t.Errorf("duplicate: %v, want REJECT", got)
	}
	// Honest blocks pass: empty, seen in CheckTx or not, out of sequence.
	late, _ := w.AttestTx(fixture.Attest{Holder: fixture.Bob, Sequence: 7})
	for name, txs := range map[string][][]byte{"empty": nil, "two attestations": honest, "sequence out of turn": {late}} {
		if got := process(t, a, txs...); got != abci.ResponseProcessProposal_ACCEPT {
			t.Errorf("%s: %v, want ACCEPT", name, got)
		}
	}
	for _, tx := range honest {
		a.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx})
	}
	prep, err := a.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: append([][]byte{late}, honest...), MaxTxBytes: 1 << 20, Height: 2, Time: fixture.Now.Add(2e9)})
	if err != nil {
		t.Fatal(err)
	}
	if len(prep.Txs) != 2 || process(t, a, prep.Txs...) != abci.ResponseProcessProposal_ACCEPT {
		t.Fatalf("our own proposal (%d txs) is not accepted", len(prep.Txs))
	}
}

// TestByzantineTxsChangeNothingInFinalizeBlock: should a hostile
// transaction reach FinalizeBlock anyway (a node replaying blocks does not
// run ProcessProposal), it is refused with its code and the state is what
// an empty block leaves.
func TestByzantineTxsChangeNothingInFinalizeBlock(t *testing.T) {
	w := world(t)
	a, ref := openApp(t, t.TempDir()), openApp(t, t.TempDir())
	defer a.Close()
	defer ref.Close()
	for _, x := range []*app.App{a, ref} {
		initChain(t, x, w)
		block(t, x, 1)
	}
	var txs [][]byte
	for _, tx := range hostileTxs(t, w) {
		txs = append(txs, tx, tx)
	}
	res := block(t, a, 2, txs...)
	for i, r := range res.TxResults {
		if r.Code == 0 {
			t.Errorf("hostile tx %d accepted", i)
		}
	}
	if want := block(t, ref, 2).AppHash; !bytes.Equal(res.AppHash, want) {
		t.Fatalf("app hash %X after refusals, %X after an empty block", res.AppHash, want)
	}
}

// TestByzantineProposalAfterGovernance: once a block holds a governance
// transaction, member keys, anchors and parameters may change within it, so
// later transactions are not judged by the committed ones (an honest block
// stays acceptable); a signing certificate stays refused all the same.
func TestByzantineProposalAfterGovernance(t *testing.T) {
	w := world(t)
	a := openApp(t, t.TempDir())
	defer a.Close()
	initChain(t, a, w)
	block(t, a, 1)
	add := &chainpb.GovAction{Action: &chainpb.GovAction_AddMember{AddMember: &chainpb.Member{Id: "bank", PubKey: key("bank"), Roles: []string{chain.RoleAttester}}}}
	gov := proposeTx(t, w, fixture.Operator, 0, add)
	next, _ := w.AttestTx(fixture.Attest{Sequence: 1})
	if got := process(t, a, gov, next); got != abci.ResponseProcessProposal_ACCEPT {
		t.Fatalf("governance then attestation: %v", got)
	}
	// The signing certificate stays refused after governance too.
	sig, _ := w.AttestTx(fixture.Attest{Holder: fixture.Signing, Sequence: 1})
	if got := process(t, a, gov, sig); got != abci.ResponseProcessProposal_REJECT {
		t.Fatalf("signing certificate after governance: %v", got)
	}
}
