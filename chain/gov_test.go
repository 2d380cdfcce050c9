package chain_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
)

// govState: operator, attester and reader are all governors; two votes
// execute a proposal. The operator has a validator.
func govState(t *testing.T, w *fixture.World) (*fixture.MemStore, *chain.Machine) {
	st := newState(t, w, func(g *chain.Genesis) {
		for _, m := range g.Members {
			if m.Id != fixture.Operator {
				m.Roles = append(m.Roles, chain.RoleGovernor)
			}
		}
		g.Params.GovernorThreshold = 2
		g.Params.ProposalTtlBlocks = 5
	})
	chain.SetValidator(st, valKey(0), 10, fixture.Operator)
	return st, chain.NewMachine(10)
}

func valKey(i byte) []byte {
	seed := sha256.Sum256([]byte{'v', i})
	return ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
}

func propose(a *chainpb.GovAction, seq uint64) *chainpb.TxBody {
	return &chainpb.TxBody{Sequence: seq, Msg: &chainpb.TxBody_Propose{Propose: &chainpb.Propose{Action: a}}}
}

func vote(id, seq uint64) *chainpb.TxBody {
	return &chainpb.TxBody{Sequence: seq, Msg: &chainpb.TxBody_Vote{Vote: &chainpb.Vote{ProposalId: id}}}
}

func mustDeliver(t *testing.T, m *chain.Machine, st chain.Store, raw []byte) *chain.Result {
	t.Helper()
	res, err := deliver(t, m, st, raw)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestGovernanceAddAndRemoveMember: a proposal executes when the second
// governor votes; the new member can attest; once removed by vote it cannot.
func TestGovernanceAddAndRemoveMember(t *testing.T) {
	w := world(t)
	st, m := govState(t, w)
	seed := sha256.Sum256([]byte("bank"))
	bankKey := ed25519.NewKeyFromSeed(seed[:])
	add := &chainpb.GovAction{Action: &chainpb.GovAction_AddMember{AddMember: &chainpb.Member{
		Id: "bank", PubKey: bankKey.Public().(ed25519.PublicKey), Roles: []string{chain.RoleAttester}}}}
	mustDeliver(t, m, st, sign(t, w, propose(add, 0), fixture.Operator, ""))
	if p := chain.GetProposal(st, 1); p.Status != chain.ProposalOpen {
		t.Fatalf("after one vote: %s", p.Status)
	}
	if chain.GetMember(st, "bank") != nil {
		t.Fatal("executed before the threshold")
	}
	if _, err := deliver(t, m, st, sign(t, w, vote(1, 1), fixture.Operator, "")); chain.CodeOf(err) != chain.CodeAlreadyVoted {
		t.Fatalf("double vote: %v", err)
	}
	mustDeliver(t, m, st, sign(t, w, vote(1, 0), fixture.Reader, ""))
	if p := chain.GetProposal(st, 1); p.Status != chain.ProposalExecuted {
		t.Fatalf("after two votes: %s %s", p.Status, p.Result)
	}
	if chain.GetMember(st, "bank") == nil {
		t.Fatal("bank was not added")
	}
	if _, err := deliver(t, m, st, sign(t, w, vote(1, 0), fixture.Attester, "")); chain.CodeOf(err) != chain.CodeProposalClosed {
		t.Fatalf("vote on an executed proposal: %v", err)
	}

	// Remove the operator's attester colleague "attester" and check it can no
	// longer attest.
	remove := &chainpb.GovAction{Action: &chainpb.GovAction_RemoveMember{RemoveMember: fixture.Attester}}
	mustDeliver(t, m, st, sign(t, w, propose(remove, 1), fixture.Operator, ""))
	mustDeliver(t, m, st, sign(t, w, vote(2, 1), fixture.Reader, ""))
	raw, _ := w.AttestTx(fixture.Attest{Member: fixture.Attester})
	if _, err := deliver(t, m, st, raw); chain.CodeOf(err) != chain.CodeUnknownSigner {
		t.Fatalf("removed member attests: %v", err)
	}
}

// TestGovernanceAnchors: removing a trust anchor refuses new attestations
// under it, while existing attestations keep their status.
func TestGovernanceAnchors(t *testing.T) {
	w := world(t)
	st, m := govState(t, w)
	raw, _ := w.AttestTx(fixture.Attest{})
	mustDeliver(t, m, st, raw)
	// The last auth anchor cannot go: add another first.
	other := &chainpb.GovAction{Action: &chainpb.GovAction_AddAnchor{AddAnchor: &chainpb.TrustAnchor{Kind: "auth", Certificate: w.OtherCA.CertDER}}}
	mustDeliver(t, m, st, sign(t, w, propose(other, 1), fixture.Operator, ""))
	mustDeliver(t, m, st, sign(t, w, vote(1, 0), fixture.Reader, ""))
	id := sha256.Sum256(w.AuthCA.CertDER)
	rm := &chainpb.GovAction{Action: &chainpb.GovAction_RemoveAnchor{RemoveAnchor: id[:]}}
	mustDeliver(t, m, st, sign(t, w, propose(rm, 2), fixture.Operator, ""))
	mustDeliver(t, m, st, sign(t, w, vote(2, 1), fixture.Reader, ""))
	if p := chain.GetProposal(st, 2); p.Status != chain.ProposalExecuted {
		t.Fatalf("remove anchor: %s %s", p.Status, p.Result)
	}
	raw, _ = w.AttestTx(fixture.Attest{Holder: fixture.Bob, Sequence: 3})
	if _, err := deliver(t, m, st, raw); chain.CodeOf(err) != chain.CodeCertUnknownIssuer {
		t.Fatalf("attest under a removed anchor: %v", err)
	}
	if s := status(st, w, fixture.Alice); s.State != chain.StateValid {
		t.Fatalf("existing attestation after its anchor's removal: %s", s.State)
	}
	// The stranger's CA is now trusted.
	raw, _ = w.AttestTx(fixture.Attest{Holder: fixture.Stranger, Sequence: 3})
	mustDeliver(t, m, st, raw)
}

// TestGovernanceValidatorPowerAndExpiry: power changes come out of EndBlock
// once; proposals that do not reach the threshold expire.
func TestGovernanceValidatorPowerAndExpiry(t *testing.T) {
	w := world(t)
	st, m := govState(t, w)
	set := &chainpb.GovAction{Action: &chainpb.GovAction_SetValidatorPower{SetValidatorPower: &chainpb.SetValidatorPower{
		Member: fixture.Operator, PubKey: valKey(1), Power: 5}}}
	mustDeliver(t, m, st, sign(t, w, propose(set, 0), fixture.Operator, ""))
	mustDeliver(t, m, st, sign(t, w, vote(1, 0), fixture.Reader, ""))
	ups := chain.EndBlock(st, env)
	if len(ups) != 1 || ups[0].Power != 5 {
		t.Fatalf("validator updates %+v", ups)
	}
	if again := chain.EndBlock(st, chain.Env{Height: env.Height + 1}); len(again) != 0 {
		t.Fatalf("updates handed out twice: %+v", again)
	}
	// Removing every validator is refused at execution.
	zero := func(i byte) *chainpb.GovAction {
		return &chainpb.GovAction{Action: &chainpb.GovAction_SetValidatorPower{SetValidatorPower: &chainpb.SetValidatorPower{
			Member: fixture.Operator, PubKey: valKey(i), Power: 0}}}
	}
	mustDeliver(t, m, st, sign(t, w, propose(zero(0), 1), fixture.Operator, ""))
	mustDeliver(t, m, st, sign(t, w, vote(2, 1), fixture.Reader, ""))
	mustDeliver(t, m, st, sign(t, w, propose(zero(1), 2), fixture.Operator, ""))
	mustDeliver(t, m, st, sign(t, w, vote(3, 2), fixture.Reader, ""))
	if p := chain.GetProposal(st, 3); p.Status != chain.ProposalFailed {
		t.Fatalf("removing the last validator: %s %s", p.Status, p.Result)
	}
	// A lone vote expires after proposal_ttl_blocks.
	mustDeliver(t, m, st, sign(t, w, propose(zero(1), 3), fixture.Operator, ""))
	chain.EndBlock(st, chain.Env{Height: env.Height + 5})
	if p := chain.GetProposal(st, 4); p.Status != chain.ProposalExpired {
		t.Fatalf("after ttl: %s", p.Status)
	}
	if _, err := deliver(t, m, st, sign(t, w, vote(4, 3), fixture.Reader, "")); chain.CodeOf(err) != chain.CodeProposalClosed {
		t.Fatalf("vote after expiry: %v", err)
	}
}

func TestGovernanceRefusals(t *testing.T) {
	w := world(t)
	st, m := govState(t, w)
	bad := &chainpb.GovAction{Action: &chainpb.GovAction_AddMember{AddMember: &chainpb.Member{Id: "Bad ID"}}}
	if _, err := deliver(t, m, st, sign(t, w, propose(bad, 0), fixture.Operator, "")); chain.CodeOf(err) != chain.CodeInvalidAction {
		t.Fatalf("bad action: %v", err)
	}
	ok := &chainpb.GovAction{Action: &chainpb.GovAction_RemoveMember{RemoveMember: fixture.Reader}}
	st2 := newState(t, w, nil) // attester is not a governor there
	if _, err := deliver(t, m, st2, sign(t, w, propose(ok, 0), fixture.Attester, "")); chain.CodeOf(err) != chain.CodeMissingRole {
		t.Fatalf("non-governor proposes: %v", err)
	}
	if _, err := deliver(t, m, st, sign(t, w, vote(99, 0), fixture.Operator, "")); chain.CodeOf(err) != chain.CodeUnknownProposal {
		t.Fatalf("vote on nothing: %v", err)
	}
}
