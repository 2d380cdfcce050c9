package app_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/internal/fixture"
	"github.com/idledger/idledger/signer"
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
	w, a := atBlock1(t)
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

// TestByzantineProposalAfterGovernance: a block with a governor's proposal
// that executes (add_member) and an attestation after it is accepted; the
// action does not touch the signing-certificate policy, so a signing
// certificate after it stays refused.
func TestByzantineProposalAfterGovernance(t *testing.T) {
	w, a := atBlock1(t)
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

// forgedTx is tx with its member signature replaced by zeros.
func forgedTx(t *testing.T, raw []byte) []byte {
	t.Helper()
	env := new(chainpb.Tx)
	if err := proto.Unmarshal(raw, env); err != nil {
		t.Fatal(err)
	}
	env.MemberSignature = make([]byte, ed25519.SignatureSize)
	out, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// signWith signs body as member with priv, a key the fixture does not know.
func signWith(t *testing.T, body *chainpb.TxBody, member string, priv ed25519.PrivateKey, sig func([]byte) []byte) []byte {
	t.Helper()
	body.ChainId, body.Signer = fixture.ChainID, member
	bb, err := chain.EncodeBody(body)
	if err != nil {
		t.Fatal(err)
	}
	var subject []byte
	if sig != nil {
		subject = sig(chain.SignBytes(bb))
	}
	raw, err := chain.EncodeTx(bb, priv, subject)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func privKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// TestByzantineForgedGovernanceRelaxesNothing: a governance transaction
// that cannot execute (a vote from an unknown signer with a zero signature,
// one from a member who is no governor, a vote for no open proposal, a
// proposal from an unknown signer) turns off no check for the transactions
// after it: a bad subject signature, an untrusted CA, a bad member
// signature and a signing certificate are refused as they are alone.
func TestByzantineForgedGovernanceRelaxesNothing(t *testing.T) {
	w, a := atBlock1(t)
	anchor := &chainpb.GovAction{Action: &chainpb.GovAction_AddAnchor{AddAnchor: &chainpb.TrustAnchor{Kind: "auth", Certificate: w.OtherCA.CertDER}}}
	forged := map[string][]byte{
		"vote from nobody, zero signature":    forgedTx(t, signTx(t, w, &chainpb.TxBody{Msg: &chainpb.TxBody_Vote{Vote: &chainpb.Vote{ProposalId: 1}}}, "nobody", "")),
		"vote from a non-governor":            signTx(t, w, &chainpb.TxBody{Msg: &chainpb.TxBody_Vote{Vote: &chainpb.Vote{ProposalId: 1}}}, fixture.Reader, ""),
		"vote for no open proposal":           signTx(t, w, &chainpb.TxBody{Msg: &chainpb.TxBody_Vote{Vote: &chainpb.Vote{ProposalId: 99}}}, fixture.Operator, ""),
		"proposal from nobody":                proposeTx(t, w, "nobody", 0, anchor),
		"governor's proposal, zero signature": forgedTx(t, proposeTx(t, w, fixture.Operator, 0, anchor)),
	}
	must := func(raw []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	bad := map[string][]byte{
		"bad subject signature": must(w.AttestTx(fixture.Attest{Holder: fixture.Bob, Sequence: 1, Tamper: func(tx *chainpb.Tx) { tx.SubjectSignature[3] ^= 1 }})),
		"untrusted CA":          must(w.AttestTx(fixture.Attest{Holder: fixture.Stranger, Sequence: 1})),
		"bad member signature":  must(w.AttestTx(fixture.Attest{Holder: fixture.Bob, Sequence: 1, Tamper: func(tx *chainpb.Tx) { tx.MemberSignature[3] ^= 1 }})),
		"signing certificate":   must(w.AttestTx(fixture.Attest{Holder: fixture.Signing, Sequence: 1})),
	}
	for fname, f := range forged {
		var all [][]byte
		for bname, b := range bad {
			if got := process(t, a, b); got != abci.ResponseProcessProposal_REJECT {
				t.Errorf("%s alone: %v, want REJECT", bname, got)
			}
			if got := process(t, a, f, b); got != abci.ResponseProcessProposal_REJECT {
				t.Errorf("%s, then %s: %v, want REJECT", fname, bname, got)
			}
			all = append(all, b)
		}
		if got := process(t, a, append([][]byte{f}, all...)...); got != abci.ResponseProcessProposal_REJECT {
			t.Errorf("%s, then all: %v, want REJECT", fname, got)
		}
		// Our own proposal from the same list leaves them out.
		prep, err := a.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: append([][]byte{f}, all...), MaxTxBytes: 1 << 20, Height: 2, Time: fixture.Now.Add(2e9)})
		if err != nil {
			t.Fatal(err)
		}
		if len(prep.Txs) > 1 || process(t, a, prep.Txs...) != abci.ResponseProcessProposal_ACCEPT {
			t.Errorf("%s: our own proposal holds %d txs or is refused", fname, len(prep.Txs))
		}
	}
}

// TestByzantineHonestGovernanceThenDependentTxs: transactions that rely on
// an action a governor's transaction executes earlier in the same block (a
// new trust anchor, signing certificates allowed, a member re-added with a
// new key, a proposal reaching the threshold by a vote) are accepted, our
// own proposal keeps them, and FinalizeBlock applies them; the subject's
// signature is still checked, and an action relaxes only what it changes.
func TestByzantineHonestGovernanceThenDependentTxs(t *testing.T) {
	w := world(t)
	must := func(raw []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	anchor := &chainpb.GovAction{Action: &chainpb.GovAction_AddAnchor{AddAnchor: &chainpb.TrustAnchor{Kind: "auth", Certificate: w.OtherCA.CertDER}}}
	params := proto.Clone(w.AppState.Chain().Params).(*chainpb.Params)
	params.AllowSigningCertificates = true
	allow := &chainpb.GovAction{Action: &chainpb.GovAction_SetParams{SetParams: params}}
	newKey := privKey("attester, second key")
	remove := &chainpb.GovAction{Action: &chainpb.GovAction_RemoveMember{RemoveMember: fixture.Attester}}
	readd := &chainpb.GovAction{Action: &chainpb.GovAction_AddMember{AddMember: &chainpb.Member{Id: fixture.Attester, PubKey: newKey.Public().(ed25519.PublicKey), Roles: []string{chain.RoleAttester}}}}
	stranger := must(w.AttestTx(fixture.Attest{Holder: fixture.Stranger, Sequence: 1}))
	strangerBadSig := must(w.AttestTx(fixture.Attest{Holder: fixture.Stranger, Sequence: 1, Tamper: func(tx *chainpb.Tx) { tx.SubjectSignature[3] ^= 1 }}))
	signing := must(w.AttestTx(fixture.Attest{Holder: fixture.Signing, Sequence: 1}))
	holder := w.Holders[fixture.Alice]
	subjectSign := func(b []byte) []byte {
		s, err := signer.NewSoft(holder.Key, holder.CertDER)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := signer.Sign(ctx, s, b)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	claim := sha256.Sum256([]byte("claim"))
	attestBody := func() *chainpb.TxBody {
		return &chainpb.TxBody{Msg: &chainpb.TxBody_Attest{Attest: &chainpb.Attest{AuthCertificate: holder.CertDER, ClaimType: "kyc", ClaimHash: claim[:], NotAfter: fixture.Now.AddDate(0, 0, 30).Unix()}}}
	}
	rekeyed := signWith(t, attestBody(), fixture.Attester, newKey, subjectSign)
	wrongKey := signWith(t, attestBody(), fixture.Attester, privKey("someone else"), subjectSign)

	run := func(name string, gen []byte, txs [][]byte, want abci.ResponseProcessProposal_ProposalStatus, apply bool) {
		t.Helper()
		a := openApp(t, t.TempDir())
		defer a.Close()
		initWith(t, a, gen)
		block(t, a, 1)
		if got := process(t, a, txs...); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
			return
		}
		if want != abci.ResponseProcessProposal_ACCEPT {
			return
		}
		prep, err := a.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: txs, MaxTxBytes: 1 << 20, Height: 2, Time: fixture.Now.Add(2e9)})
		if err != nil {
			t.Fatal(err)
		}
		if len(prep.Txs) != len(txs) || process(t, a, prep.Txs...) != abci.ResponseProcessProposal_ACCEPT {
			t.Errorf("%s: our own proposal keeps %d of %d txs or is refused", name, len(prep.Txs), len(txs))
		}
		if apply {
			for i, r := range block(t, a, 2, txs...).TxResults {
				if r.Code != 0 {
					t.Errorf("%s: tx %d refused in FinalizeBlock: %d %s", name, i, r.Code, r.Log)
				}
			}
		}
	}
	one := tweakedGenesis(t, w, nil)
	run("add_anchor, then its CA's certificate", one, [][]byte{proposeTx(t, w, fixture.Operator, 0, anchor), stranger}, abci.ResponseProcessProposal_ACCEPT, true)
	run("add_anchor, then a bad subject signature", one, [][]byte{proposeTx(t, w, fixture.Operator, 0, anchor), strangerBadSig}, abci.ResponseProcessProposal_REJECT, false)
	run("add_anchor, then a signing certificate", one, [][]byte{proposeTx(t, w, fixture.Operator, 0, anchor), signing}, abci.ResponseProcessProposal_REJECT, false)
	run("signing certificates allowed, then one", one, [][]byte{proposeTx(t, w, fixture.Operator, 0, allow), signing}, abci.ResponseProcessProposal_ACCEPT, true)
	run("signing certificates allowed, then an untrusted CA", one, [][]byte{proposeTx(t, w, fixture.Operator, 0, allow), stranger}, abci.ResponseProcessProposal_REJECT, false)
	run("member re-added with a new key, then its tx", one, [][]byte{proposeTx(t, w, fixture.Operator, 0, remove), proposeTx(t, w, fixture.Operator, 1, readd), rekeyed}, abci.ResponseProcessProposal_ACCEPT, true)
	run("member re-added with a new key, then a tx under another key", one, [][]byte{proposeTx(t, w, fixture.Operator, 0, remove), proposeTx(t, w, fixture.Operator, 1, readd), wrongKey}, abci.ResponseProcessProposal_REJECT, false)

	// Threshold 2: a proposal alone executes nothing; a second governor's
	// vote in the same block executes it.
	two := tweakedGenesis(t, w, func(s *genesis.AppState) {
		s.Params.GovernorThreshold = 2
		for i := range s.Members {
			if s.Members[i].ID == fixture.Reader {
				s.Members[i].Roles = append(s.Members[i].Roles, chain.RoleGovernor)
			}
		}
	})
	vote := signTx(t, w, &chainpb.TxBody{Msg: &chainpb.TxBody_Vote{Vote: &chainpb.Vote{ProposalId: 1}}}, fixture.Reader, "")
	run("proposal short of the threshold, then its CA's certificate", two, [][]byte{proposeTx(t, w, fixture.Operator, 0, anchor), stranger}, abci.ResponseProcessProposal_REJECT, false)
	run("proposal and a vote reaching the threshold, then its CA's certificate", two, [][]byte{proposeTx(t, w, fixture.Operator, 0, anchor), vote, stranger}, abci.ResponseProcessProposal_ACCEPT, true)
}
