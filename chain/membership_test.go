package chain_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"slices"
	"testing"
	"time"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
	"github.com/idledger/idledger/signer"
)

// signAs signs body with a key the fixture does not know (a member added by
// governance) and, when holder is not "", with the holder's JPKI key.
func signAs(t *testing.T, w *fixture.World, body *chainpb.TxBody, id string, key ed25519.PrivateKey, holder string) []byte {
	t.Helper()
	body.ChainId, body.Signer = fixture.ChainID, id
	bb, err := chain.EncodeBody(body)
	if err != nil {
		t.Fatal(err)
	}
	var subjectSig []byte
	if holder != "" {
		h := w.Holders[holder]
		s, err := signer.NewSoft(h.Key, h.CertDER)
		if err != nil {
			t.Fatal(err)
		}
		if subjectSig, err = signer.Sign(context.Background(), s, chain.SignBytes(bb)); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := chain.EncodeTx(bb, key, subjectSig)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func deliverAt(t *testing.T, m *chain.Machine, st chain.Store, height int64, raw []byte) (*chain.Result, error) {
	t.Helper()
	tx, err := chain.DecodeTx(raw, fixture.ChainID)
	if err != nil {
		return nil, err
	}
	return m.Deliver(st, chain.Env{Height: height, Time: fixture.Now.Unix()}, tx)
}

func memberKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func attestBody(w *fixture.World, holder string, seq uint64) *chainpb.TxBody {
	h := sha256.Sum256([]byte("claim"))
	return &chainpb.TxBody{Sequence: seq, Msg: &chainpb.TxBody_Attest{Attest: &chainpb.Attest{
		AuthCertificate: w.Holders[holder].CertDER, ClaimType: "kyc", ClaimHash: h[:],
		NotAfter: fixture.Now.Add(24 * time.Hour).Unix()}}}
}

// TestRotatedOutKeyCannotAct: a member's key changes only by removing the
// member and adding it again. Afterwards the old key signs nothing (not
// even when offered again with the same ID), the removed record's votes no
// longer count, and the new record has no rights over the attestations the
// old one made.
func TestRotatedOutKeyCannotAct(t *testing.T) {
	w := world(t)
	st := newState(t, w, func(g *chain.Genesis) {
		for _, m := range g.Members {
			if !slices.Contains(m.Roles, chain.RoleGovernor) {
				m.Roles = append(m.Roles, chain.RoleGovernor)
			}
		}
		g.Params.GovernorThreshold = 3
		for _, ct := range g.ClaimTypes {
			if ct.Name == "kyc" {
				ct.Attesters = append(ct.Attesters, "bank")
			}
		}
	})
	chain.SetValidator(st, valKey(0), 10, fixture.Operator)
	m := chain.NewMachine(100)
	seq := map[string]uint64{}
	next := func(member string) uint64 { s := seq[member]; seq[member]++; return s }
	// passes runs a proposal through three governors' votes at height h.
	passes := func(h int64, a *chainpb.GovAction) *chainpb.Proposal {
		t.Helper()
		if _, err := deliverAt(t, m, st, h, sign(t, w, propose(a, next(fixture.Operator)), fixture.Operator, "")); err != nil {
			t.Fatal(err)
		}
		var id uint64
		for p := uint64(1); chain.GetProposal(st, p) != nil; p++ {
			id = p
		}
		for _, v := range []string{fixture.Reader, fixture.Attester} {
			if _, err := deliverAt(t, m, st, h, sign(t, w, vote(id, next(v)), v, "")); err != nil {
				t.Fatal(err)
			}
		}
		return chain.GetProposal(st, id)
	}
	oldKey, newKey := memberKey("bank old"), memberKey("bank new")
	addBank := func(key ed25519.PrivateKey) *chainpb.GovAction {
		return &chainpb.GovAction{Action: &chainpb.GovAction_AddMember{AddMember: &chainpb.Member{
			Id: "bank", PubKey: key.Public().(ed25519.PublicKey), Roles: []string{chain.RoleGovernor, chain.RoleAttester}}}}
	}
	if p := passes(20, addBank(oldKey)); p.Status != chain.ProposalExecuted {
		t.Fatalf("add bank: %s %s", p.Status, p.Result)
	}
	// The first bank attests alice and proposes something that stays open.
	if _, err := deliverAt(t, m, st, 21, signAs(t, w, attestBody(w, fixture.Alice, 0), "bank", oldKey, fixture.Alice)); err != nil {
		t.Fatal(err)
	}
	oldAttestation := chain.AttestationID(21, 0)
	open := &chainpb.GovAction{Action: &chainpb.GovAction_RemoveMember{RemoveMember: fixture.Reader}}
	if _, err := deliverAt(t, m, st, 21, signAs(t, w, propose(open, 1), "bank", oldKey, "")); err != nil {
		t.Fatal(err)
	}
	openID := uint64(2)
	if p := chain.GetProposal(st, openID); p.Status != chain.ProposalOpen || !slices.Equal(p.Votes, []string{"bank"}) {
		t.Fatalf("bank's proposal: %s %v", p.Status, p.Votes)
	}
	// The key is rotated: remove, then add again with a new key.
	if p := passes(22, &chainpb.GovAction{Action: &chainpb.GovAction_RemoveMember{RemoveMember: "bank"}}); p.Status != chain.ProposalExecuted {
		t.Fatalf("remove bank: %s %s", p.Status, p.Result)
	}
	if p := chain.GetProposal(st, openID); len(p.Votes) != 0 {
		t.Fatalf("a removed member's vote still counts: %v", p.Votes)
	}
	if p := passes(23, addBank(oldKey)); p.Status != chain.ProposalFailed {
		t.Fatalf("re-adding a retired key: %s, want failed", p.Status)
	}
	if p := passes(23, addBank(newKey)); p.Status != chain.ProposalExecuted {
		t.Fatalf("re-add bank with a new key: %s %s", p.Status, p.Result)
	}
	// The old key signs nothing for bank: not its old transactions again, not new ones.
	for _, body := range []*chainpb.TxBody{attestBody(w, fixture.Bob, 0), vote(openID, 0)} {
		if _, err := deliverAt(t, m, st, 24, signAs(t, w, body, "bank", oldKey, fixture.Bob)); chain.CodeOf(err) != chain.CodeBadMemberSig && chain.CodeOf(err) != chain.CodeMissingSig {
			t.Fatalf("old key: %v, want a bad member signature", err)
		}
	}
	// The new bank may not revoke what the old bank attested...
	rev := revokeBody(oldAttestation, 0, nil)
	if _, err := deliverAt(t, m, st, 24, signAs(t, w, rev, "bank", newKey, "")); chain.CodeOf(err) != chain.CodeNotAuthorized {
		t.Fatalf("new record revokes the old record's attestation: %v, want not authorized", err)
	}
	// ... but its own, and its vote counts once, under its new key.
	if _, err := deliverAt(t, m, st, 25, signAs(t, w, attestBody(w, fixture.Bob, 0), "bank", newKey, fixture.Bob)); err != nil {
		t.Fatal(err)
	}
	if _, err := deliverAt(t, m, st, 26, signAs(t, w, revokeBody(chain.AttestationID(25, 0), 1, nil), "bank", newKey, "")); err != nil {
		t.Fatalf("bank revokes its own attestation: %v", err)
	}
	if _, err := deliverAt(t, m, st, 26, signAs(t, w, vote(openID, 2), "bank", newKey, "")); err != nil {
		t.Fatal(err)
	}
	if p := chain.GetProposal(st, openID); p.Status != chain.ProposalOpen || !slices.Equal(p.Votes, []string{"bank"}) {
		t.Fatalf("after the new bank's vote: %s %v", p.Status, p.Votes)
	}
}

// TestSetRolesWithoutValidatorTakesPower: taking the validator role away
// sets the member's validators to power 0 (updates out of EndBlock), and
// fails when they are the chain's last validators.
func TestSetRolesWithoutValidatorTakesPower(t *testing.T) {
	w := world(t)
	st, m := govState(t, w)
	chain.SetValidator(st, valKey(1), 7, fixture.Attester)
	setRoles := func(member string, roles ...string) *chainpb.GovAction {
		return &chainpb.GovAction{Action: &chainpb.GovAction_SetRoles{SetRoles: &chainpb.SetRoles{Member: member, Roles: roles}}}
	}
	// The attester becomes a validator member, then loses the role.
	mustDeliver(t, m, st, sign(t, w, propose(setRoles(fixture.Attester, chain.RoleAttester, chain.RoleGovernor, chain.RoleValidator), 0), fixture.Operator, ""))
	mustDeliver(t, m, st, sign(t, w, vote(1, 0), fixture.Reader, ""))
	chain.EndBlock(st, env)
	mustDeliver(t, m, st, sign(t, w, propose(setRoles(fixture.Attester, chain.RoleAttester, chain.RoleGovernor), 1), fixture.Operator, ""))
	mustDeliver(t, m, st, sign(t, w, vote(2, 1), fixture.Reader, ""))
	if p := chain.GetProposal(st, 2); p.Status != chain.ProposalExecuted {
		t.Fatalf("set_roles: %s %s", p.Status, p.Result)
	}
	ups := chain.EndBlock(st, env)
	if len(ups) != 1 || string(ups[0].PubKey) != string(valKey(1)) || ups[0].Power != 0 {
		t.Fatalf("validator updates %+v, want the attester's key at power 0", ups)
	}
	for _, v := range chain.Validators(st) {
		if v.Member == fixture.Attester {
			t.Fatalf("validator %x of a member without the role is still there", v.PubKey)
		}
	}
	// The operator's validator is now the last one: its role stays.
	mustDeliver(t, m, st, sign(t, w, propose(setRoles(fixture.Operator, chain.RoleAttester, chain.RoleGovernor, chain.RoleRevoker), 2), fixture.Operator, ""))
	mustDeliver(t, m, st, sign(t, w, vote(3, 2), fixture.Reader, ""))
	if p := chain.GetProposal(st, 3); p.Status != chain.ProposalFailed {
		t.Fatalf("taking the last validator's role: %s, want failed", p.Status)
	}
	if !chain.HasRole(chain.GetMember(st, fixture.Operator), chain.RoleValidator) || len(chain.EndBlock(st, env)) != 0 {
		t.Fatal("a failed set_roles changed something")
	}
}
