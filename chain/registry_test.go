package chain_test

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
	"google.golang.org/protobuf/proto"
)

// tweakType changes the genesis registry entry of name.
func tweakType(name string, f func(*chainpb.ClaimType)) func(*chain.Genesis) {
	return func(g *chain.Genesis) {
		for _, ct := range g.ClaimTypes {
			if ct.Name == name {
				f(ct)
			}
		}
	}
}

// TestRegistryRefusals: an unregistered or retired type, a member not
// allowed for the type and a validity beyond the type's maximum are each
// refused with their own code, and write nothing.
func TestRegistryRefusals(t *testing.T) {
	w := world(t)
	week := int64(7 * 24 * 3600)
	cases := []struct {
		name    string
		attest  fixture.Attest
		genesis func(*chain.Genesis)
		code    chain.Code
		msg     string
	}{
		{name: "unregistered type", attest: fixture.Attest{ClaimType: "student"}, code: chain.CodeUnregisteredClaimType, msg: `"student" is not registered`},
		{name: "no registry at all", genesis: func(g *chain.Genesis) { g.ClaimTypes = nil }, code: chain.CodeUnregisteredClaimType, msg: `"kyc" is not registered`},
		{name: "retired type", genesis: tweakType("kyc", func(ct *chainpb.ClaimType) { ct.Retired, ct.RetiredHeight = true, 4 }),
			code: chain.CodeRetiredClaimType, msg: "retired at height 4"},
		{name: "member not allowed", attest: fixture.Attest{Member: fixture.Attester},
			genesis: tweakType("kyc", func(ct *chainpb.ClaimType) { ct.Attesters = []string{fixture.Operator} }),
			code:    chain.CodeAttesterNotAllowed, msg: `member "attester" may not attest "kyc": its attesters are operator`},
		{name: "validity beyond the type's maximum", attest: fixture.Attest{NotAfter: fixture.Now.Add(7*24*time.Hour + time.Second)},
			genesis: tweakType("kyc", func(ct *chainpb.ClaimType) { ct.MaxValidity = week }),
			code:    chain.CodeValidityTooLong, msg: `"kyc"'s maximum validity 168h0m0s`},
	}
	codes := map[chain.Code]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newState(t, w, tc.genesis)
			before := st.Snapshot()
			raw, err := w.AttestTx(tc.attest)
			if err != nil {
				t.Fatal(err)
			}
			_, err = deliver(t, chain.NewMachine(10), st, raw)
			if got := chain.CodeOf(err); got != tc.code {
				t.Fatalf("code %d (%v), want %d", got, err, tc.code)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q does not say %q", err, tc.msg)
			}
			if !maps.Equal(before, st.Snapshot()) {
				t.Fatal("a refused transaction changed the state")
			}
		})
		codes[tc.code] = true
	}
	if len(codes) != 4 {
		t.Fatalf("%d distinct codes, want 4", len(codes))
	}

	// Exactly the maximum validity is accepted.
	st := newState(t, w, tweakType("kyc", func(ct *chainpb.ClaimType) { ct.MaxValidity = week }))
	raw, _ := w.AttestTx(fixture.Attest{NotAfter: fixture.Now.Add(7 * 24 * time.Hour)})
	if _, err := deliver(t, chain.NewMachine(10), st, raw); err != nil {
		t.Fatalf("not-after at the maximum validity: %v", err)
	}
}

func registerAction(ct *chainpb.ClaimType) *chainpb.GovAction {
	return &chainpb.GovAction{Action: &chainpb.GovAction_RegisterClaimType{RegisterClaimType: ct}}
}

func retireAction(name string) *chainpb.GovAction {
	return &chainpb.GovAction{Action: &chainpb.GovAction_RetireClaimType{RetireClaimType: name}}
}

// TestClaimTypeActionForm: a malformed registry action is refused when
// proposed, as an invalid action.
func TestClaimTypeActionForm(t *testing.T) {
	w := world(t)
	good := func() *chainpb.ClaimType {
		return &chainpb.ClaimType{Name: "student", Description: "a student", Attesters: []string{fixture.Operator}, MaxValidity: 3600, SchemaHash: make([]byte, 32)}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*chainpb.ClaimType)
		action *chainpb.GovAction
		msg    string
	}{
		{name: "bad name", mutate: func(ct *chainpb.ClaimType) { ct.Name = "Has Spaces" }, msg: "name"},
		{name: "no attesters", mutate: func(ct *chainpb.ClaimType) { ct.Attesters = nil }, msg: "at least one member"},
		{name: "attester twice", mutate: func(ct *chainpb.ClaimType) { ct.Attesters = []string{"a", "a"} }, msg: "twice"},
		{name: "attester not an ID", mutate: func(ct *chainpb.ClaimType) { ct.Attesters = []string{"Not An ID"} }, msg: "not a member ID"},
		{name: "short schema hash", mutate: func(ct *chainpb.ClaimType) { ct.SchemaHash = []byte{1} }, msg: "schema_hash"},
		{name: "no max validity", mutate: func(ct *chainpb.ClaimType) { ct.MaxValidity = 0 }, msg: "max_validity"},
		{name: "retired set by the action", mutate: func(ct *chainpb.ClaimType) { ct.Retired = true }, msg: "set by the chain"},
		{name: "my number in the description", mutate: func(ct *chainpb.ClaimType) { ct.Description = "holder 123456789018" }, msg: "My Number"},
		{name: "long description", mutate: func(ct *chainpb.ClaimType) { ct.Description = strings.Repeat("x", 513) }, msg: "description"},
		{name: "retire a bad name", action: retireAction("BAD NAME"), msg: "retire_claim_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, m := govState(t, w)
			a := tc.action
			if a == nil {
				ct := good()
				tc.mutate(ct)
				a = registerAction(ct)
			}
			_, err := deliver(t, m, st, sign(t, w, propose(a, 0), fixture.Operator, ""))
			if chain.CodeOf(err) != chain.CodeInvalidAction || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v (code %d), want invalid action saying %q", err, chain.CodeOf(err), tc.msg)
			}
		})
	}
	// The good one is accepted as a proposal.
	st, m := govState(t, w)
	mustDeliver(t, m, st, sign(t, w, propose(registerAction(good()), 0), fixture.Operator, ""))
}

// TestClaimTypeGovernance registers a type, changes it and retires it by
// vote, and checks the rule for live attestations: they stay valid until
// their not-after when their attester loses the right or the type is
// retired; only new attestations are refused.
func TestClaimTypeGovernance(t *testing.T) {
	w := world(t)
	st, m := govState(t, w)
	seq := map[string]uint64{}
	pass := func(a *chainpb.GovAction) *chainpb.Proposal {
		t.Helper()
		res := mustDeliver(t, m, st, sign(t, w, propose(a, seq[fixture.Operator]), fixture.Operator, ""))
		seq[fixture.Operator]++
		id := uint64(0)
		for _, e := range res.Events {
			for _, at := range e.Attrs {
				if at.Key == "proposal_id" {
					for _, c := range at.Value {
						id = id*10 + uint64(c-'0')
					}
				}
			}
		}
		mustDeliver(t, m, st, sign(t, w, vote(id, seq[fixture.Reader]), fixture.Reader, ""))
		seq[fixture.Reader]++
		return chain.GetProposal(st, id)
	}
	attest := func(member, claimType string, notAfter time.Time) error {
		t.Helper()
		raw, err := w.AttestTx(fixture.Attest{Member: member, Sequence: seq[member], ClaimType: claimType, NotAfter: notAfter})
		if err != nil {
			t.Fatal(err)
		}
		_, err = deliver(t, m, st, raw)
		if err == nil {
			seq[member]++
		}
		return err
	}
	later := fixture.Now.AddDate(0, 0, 10)
	state := func(claimType string, at time.Time) chain.ClaimState {
		return chain.StatusOf(chain.GetClaimStatus(st, w.Subject(fixture.Alice), claimType), at.Unix()).State
	}

	// Not registered yet.
	if err := attest(fixture.Attester, "student", later); chain.CodeOf(err) != chain.CodeUnregisteredClaimType {
		t.Fatalf("before registration: %v", err)
	}
	// Register: attester may attest for up to 30 days.
	ct := &chainpb.ClaimType{Name: "student", Description: "enrolled student", Attesters: []string{fixture.Attester, fixture.Operator}, MaxValidity: 30 * 24 * 3600}
	if p := pass(registerAction(ct)); p.Status != chain.ProposalExecuted {
		t.Fatalf("register: %s %s", p.Status, p.Result)
	}
	got := chain.GetClaimType(st, "student")
	if got == nil || got.Height != env.Height || !chain.AttesterAllowed(got, fixture.Attester) {
		t.Fatalf("registry entry = %v", got)
	}
	if err := attest(fixture.Attester, "student", later); err != nil {
		t.Fatalf("attest a registered type: %v", err)
	}
	if err := attest(fixture.Attester, "student", fixture.Now.AddDate(0, 0, 31)); chain.CodeOf(err) != chain.CodeValidityTooLong {
		t.Fatalf("beyond max validity: %v", err)
	}

	// Change: the attester loses the right. Its live attestation stays valid.
	ct2 := &chainpb.ClaimType{Name: "student", Description: "enrolled student", Attesters: []string{fixture.Operator}, MaxValidity: 30 * 24 * 3600}
	if p := pass(registerAction(ct2)); p.Status != chain.ProposalExecuted {
		t.Fatalf("change: %s %s", p.Status, p.Result)
	}
	if err := attest(fixture.Attester, "student", later); chain.CodeOf(err) != chain.CodeAttesterNotAllowed {
		t.Fatalf("attest after losing the right: %v", err)
	}
	if s := state("student", fixture.Now); s != chain.StateValid {
		t.Fatalf("live attestation after its attester lost the right: %s, want valid", s)
	}

	// A change that names a non-member or a member without the attester
	// role fails and changes nothing.
	for _, bad := range []string{"nobody", fixture.Reader} {
		ct3 := &chainpb.ClaimType{Name: "student", Attesters: []string{bad}, MaxValidity: 60}
		if p := pass(registerAction(ct3)); p.Status != chain.ProposalFailed {
			t.Fatalf("register with attester %q: %s", bad, p.Status)
		}
	}
	if got := chain.GetClaimType(st, "student"); got.MaxValidity != 30*24*3600 {
		t.Fatalf("a failed change changed the entry: %v", got)
	}

	// Retire: new attestations refused, live ones valid until not-after.
	if p := pass(retireAction("student")); p.Status != chain.ProposalExecuted {
		t.Fatalf("retire: %s %s", p.Status, p.Result)
	}
	if err := attest(fixture.Operator, "student", later); chain.CodeOf(err) != chain.CodeRetiredClaimType {
		t.Fatalf("attest a retired type: %v", err)
	}
	if s := state("student", fixture.Now); s != chain.StateValid {
		t.Fatalf("live attestation after retirement: %s, want valid", s)
	}
	if s := state("student", later); s != chain.StateExpired {
		t.Fatalf("after its not-after: %s, want expired", s)
	}
	// Retiring twice, retiring an unknown type and reusing a retired name fail.
	for _, a := range []*chainpb.GovAction{retireAction("student"), retireAction("unknown"), registerAction(ct)} {
		if p := pass(a); p.Status != chain.ProposalFailed {
			t.Fatalf("%v: %s, want failed", a, p.Status)
		}
	}
	names := []string{}
	for _, ct := range chain.ClaimTypes(st) {
		names = append(names, ct.Name)
	}
	if strings.Join(names, ",") != "club,fare,fare-eligibility,gym,kyc,student,ticket" {
		t.Fatalf("registry = %v", names)
	}
}

// FuzzClaimTypeAction: any bytes decoded as a governance action either are
// refused by CheckAction or, for a registry action, hold a well-formed
// entry; nothing panics.
func FuzzClaimTypeAction(f *testing.F) {
	for _, a := range []*chainpb.GovAction{
		registerAction(&chainpb.ClaimType{Name: "kyc", Description: "d", Attesters: []string{"operator"}, MaxValidity: 60, SchemaHash: make([]byte, 32)}),
		registerAction(&chainpb.ClaimType{Name: "x", Attesters: []string{"a", "b"}, MaxValidity: 1}),
		retireAction("ticket"),
		retireAction(""),
	} {
		b, err := proto.Marshal(a)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a := new(chainpb.GovAction)
		if proto.Unmarshal(b, a) != nil {
			return
		}
		err := chain.CheckAction(a)
		if err != nil {
			return
		}
		switch act := a.GetAction().(type) {
		case *chainpb.GovAction_RegisterClaimType:
			if chain.ValidateClaimType(act.RegisterClaimType) != nil || !chain.ValidClaimType(act.RegisterClaimType.Name) {
				t.Fatalf("accepted a malformed entry %v", act.RegisterClaimType)
			}
		case *chainpb.GovAction_RetireClaimType:
			if !chain.ValidClaimType(act.RetireClaimType) {
				t.Fatalf("accepted retiring %q", act.RetireClaimType)
			}
		}
	})
}
