package chain_test

import (
	"maps"
	"testing"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
)

func recheck(t *testing.T, m *chain.Machine, st chain.Store, e chain.Env, raw []byte) error {
	t.Helper()
	tx, err := chain.DecodeTx(raw, fixture.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	return m.Recheck(st, e, tx)
}

// TestRecheckRefusesWhatABlockTakesAway: the mempool's recheck after a
// block refuses an attestation whose sequence a block used, whose signer
// lost the attester role or membership, whose member key changed, or whose
// not-after has passed; and moves the member's sequence on for one that
// still holds, so the next one is admitted.
func TestRecheckRefusesWhatABlockTakesAway(t *testing.T) {
	w := world(t)
	m := chain.NewMachine(100)
	tx0, _ := w.AttestTx(fixture.Attest{Sequence: 0})
	tx1, _ := w.AttestTx(fixture.Attest{Sequence: 1, Holder: fixture.Bob})

	st := newState(t, w, nil)
	if err := recheck(t, m, st, env, tx0); err != nil {
		t.Fatalf("a transaction that still holds: %v", err)
	}
	if err := recheck(t, m, st, env, tx1); err != nil {
		t.Fatalf("the next one, after the recheck moved the sequence on: %v", err)
	}
	if err := recheck(t, m, st, env, tx0); chain.CodeOf(err) != chain.CodeBadSequence {
		t.Fatalf("a sequence already used: %v, want bad sequence", err)
	}

	cases := []struct {
		name   string
		break_ func(st chain.Store)
		e      chain.Env
		want   chain.Code
	}{
		{"member removed", func(st chain.Store) { st.Delete(chain.MemberKey(fixture.Operator)) }, env, chain.CodeUnknownSigner},
		{"attester role taken away", func(st chain.Store) {
			mem := chain.GetMember(st, fixture.Operator)
			mem.Roles = []string{chain.RoleRevoker}
			chain.SetMember(st, mem)
		}, env, chain.CodeMissingRole},
		{"member key changed", func(st chain.Store) {
			mem := chain.GetMember(st, fixture.Operator)
			mem.PubKey = chain.GetMember(st, fixture.Attester).PubKey
			chain.SetMember(st, mem)
		}, env, chain.CodeBadMemberSig},
		{"not-after passed", func(chain.Store) {}, chain.Env{Height: 11, Time: fixture.Now.AddDate(0, 0, 31).Unix()}, chain.CodeNotAfterPassed},
		{"anchor removed", func(st chain.Store) {
			set := chain.GetAnchors(st)
			set.Anchors = []*chainpb.TrustAnchor{{Kind: "auth", Certificate: w.OtherCA.CertDER}}
			chain.SetAnchors(st, set)
		}, env, chain.CodeCertUnknownIssuer},
	}
	for _, c := range cases {
		st := newState(t, w, nil)
		c.break_(st)
		if err := recheck(t, m, st, c.e, tx0); chain.CodeOf(err) != c.want {
			t.Errorf("%s: %v, want code %d", c.name, err, c.want)
		}
	}
}

// TestRecheckLeavesOtherRulesToTheBlock: a rule the recheck does not run
// (here: the subject was revoked after the attestation was admitted) still
// refuses the attestation when a block holds it, and the block writes
// nothing for it.
func TestRecheckLeavesOtherRulesToTheBlock(t *testing.T) {
	w := world(t)
	m := chain.NewMachine(100)
	st := newState(t, w, nil)
	if _, err := deliver(t, m, st, sign(t, w, revokeSubjects(0, env.Time, w.Subject(fixture.Alice)), fixture.Reader, "")); err != nil {
		t.Fatal(err)
	}
	raw, _ := w.AttestTx(fixture.Attest{})
	if err := recheck(t, m, st, env, raw); err != nil {
		t.Fatalf("recheck: %v (the subject rule is the block's)", err)
	}
	st = newState(t, w, nil)
	if _, err := deliver(t, m, st, sign(t, w, revokeSubjects(0, env.Time, w.Subject(fixture.Alice)), fixture.Reader, "")); err != nil {
		t.Fatal(err)
	}
	before := st.Snapshot()
	if _, err := deliver(t, m, st, raw); chain.CodeOf(err) != chain.CodeSubjectRevoked {
		t.Fatalf("in a block: %v, want subject revoked", err)
	}
	if after := st.Snapshot(); !maps.Equal(after, before) {
		t.Fatal("a refused attestation wrote to the state")
	}
}
