package chain_test

import (
	"testing"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
)

func upgradeAction(name string, h int64) *chainpb.GovAction {
	return &chainpb.GovAction{Action: &chainpb.GovAction_Upgrade{Upgrade: &chainpb.UpgradePlan{Name: name, Height: h}}}
}

// TestGovernanceUpgradePlan: an executed upgrade proposal stores the plan;
// one at a height already passed fails; malformed ones are refused; a
// later one replaces it; an applied name cannot be scheduled again.
func TestGovernanceUpgradePlan(t *testing.T) {
	for _, bad := range []*chainpb.GovAction{upgradeAction("", 10), upgradeAction("V1", 10), upgradeAction("v1", 0),
		{Action: &chainpb.GovAction_Upgrade{}}} {
		if err := chain.CheckAction(bad); err == nil {
			t.Errorf("CheckAction(%v) accepted", bad)
		}
	}
	w := world(t)
	st, m := govState(t, w)
	mustDeliver(t, m, st, sign(t, w, propose(upgradeAction("v2", 1000), 0), fixture.Operator, ""))
	mustDeliver(t, m, st, sign(t, w, vote(1, 0), fixture.Reader, ""))
	if p := chain.GetUpgradePlan(st); p == nil || p.Name != "v2" || p.Height != 1000 {
		t.Fatalf("plan after execution: %v (proposal %v)", p, chain.GetProposal(st, 1))
	}
	if _, err := deliver(t, m, st, sign(t, w, propose(upgradeAction("x", 0), 1), fixture.Operator, "")); chain.CodeOf(err) != chain.CodeInvalidAction {
		t.Fatalf("height 0: %v", err)
	}
	// A height at or below the current block fails at execution.
	mustDeliver(t, m, st, sign(t, w, propose(upgradeAction("v3", 1), 1), fixture.Operator, ""))
	mustDeliver(t, m, st, sign(t, w, vote(2, 1), fixture.Reader, ""))
	if p := chain.GetProposal(st, 2); p.Status != chain.ProposalFailed {
		t.Fatalf("past height: %s %s", p.Status, p.Result)
	}
	if p := chain.GetUpgradePlan(st); p.Name != "v2" {
		t.Fatalf("a failed plan replaced the scheduled one: %v", p)
	}
	mustDeliver(t, m, st, sign(t, w, propose(upgradeAction("v3", 2000), 2), fixture.Operator, ""))
	mustDeliver(t, m, st, sign(t, w, vote(3, 2), fixture.Reader, ""))
	if p := chain.GetUpgradePlan(st); p.Name != "v3" || p.Height != 2000 {
		t.Fatalf("replacement plan: %v", p)
	}
	chain.ApplyUpgrade(st, chain.Env{Height: 2000}, chain.GetUpgradePlan(st))
	if chain.GetUpgradePlan(st) != nil || chain.UpgradeDoneHeight(st, "v3") != 2000 {
		t.Fatal("ApplyUpgrade did not clear the plan and record it")
	}
	mustDeliver(t, m, st, sign(t, w, propose(upgradeAction("v3", 3000), 3), fixture.Operator, ""))
	mustDeliver(t, m, st, sign(t, w, vote(4, 3), fixture.Reader, ""))
	if p := chain.GetProposal(st, 4); p.Status != chain.ProposalFailed {
		t.Fatalf("an applied upgrade scheduled again: %s", p.Status)
	}
}
