package chain_test

import (
	"testing"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
)

// attested returns a state where the operator attested alice's "kyc".
func attested(t *testing.T, w *fixture.World) (*fixture.MemStore, *chain.Machine, []byte) {
	t.Helper()
	st := newState(t, w, nil)
	m := chain.NewMachine(100)
	raw, err := w.AttestTx(fixture.Attest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deliver(t, m, st, raw); err != nil {
		t.Fatal(err)
	}
	return st, m, chain.AttestationID(env.Height, env.TxIndex)
}

func sign(t *testing.T, w *fixture.World, body *chainpb.TxBody, member, holder string) []byte {
	t.Helper()
	raw, err := w.Sign(body, member, holder)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func revokeBody(id []byte, seq uint64, cert []byte) *chainpb.TxBody {
	return &chainpb.TxBody{Sequence: seq, Msg: &chainpb.TxBody_RevokeAttestation{RevokeAttestation: &chainpb.RevokeAttestation{
		AttestationId: id, Reason: "card lost", SubjectCertificate: cert}}}
}

func status(st chain.Store, w *fixture.World, holder string) chain.Status {
	return chain.StatusOf(chain.GetClaimStatus(st, w.Subject(holder), "kyc"), env.Time)
}

// TestRevokeAttestationThreeWays: the attester, a revoker and the subject
// may each revoke; others may not.
func TestRevokeAttestationThreeWays(t *testing.T) {
	w := world(t)
	alice := w.Holders[fixture.Alice].CertDER
	for _, tc := range []struct {
		name   string
		member string
		seq    uint64
		holder string
		cert   []byte
		by     string
	}{
		{"by its attester", fixture.Operator, 1, "", nil, fixture.Operator},
		{"by a revoker", fixture.Reader, 0, "", nil, fixture.Reader},
		{"by the subject", "", 0, fixture.Alice, alice, chain.BySubject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, m, id := attested(t, w)
			if _, err := deliver(t, m, st, sign(t, w, revokeBody(id, tc.seq, tc.cert), tc.member, tc.holder)); err != nil {
				t.Fatalf("refused: %v", err)
			}
			s := status(st, w, fixture.Alice)
			if s.State != chain.StateRevoked || s.Revocation.By != tc.by || s.Revocation.Reason != "card lost" || s.Revocation.Height != env.Height {
				t.Fatalf("status %+v", s)
			}
			if a := chain.GetAttestation(st, id); a.Revocation == nil {
				t.Fatal("attestation record not revoked")
			}
			// A second revocation is refused.
			_, err := deliver(t, m, st, sign(t, w, revokeBody(id, tc.seq+1, tc.cert), tc.member, tc.holder))
			if tc.member == "" {
				_, err = deliver(t, m, st, sign(t, w, revokeBody(id, 0, tc.cert), "", tc.holder))
			}
			if chain.CodeOf(err) != chain.CodeAlreadyRevoked {
				t.Fatalf("second revocation: %v", err)
			}
		})
	}
}

func TestRevokeAttestationRefusals(t *testing.T) {
	w := world(t)
	bob := w.Holders[fixture.Bob].CertDER
	for _, tc := range []struct {
		name   string
		body   func(id []byte) *chainpb.TxBody
		member string
		holder string
		code   chain.Code
	}{
		{"an attester that did not attest it", func(id []byte) *chainpb.TxBody { return revokeBody(id, 0, nil) }, fixture.Attester, "", chain.CodeNotAuthorized},
		{"another holder", func(id []byte) *chainpb.TxBody { return revokeBody(id, 0, bob) }, "", fixture.Bob, chain.CodeNotAuthorized},
		{"an unknown attestation", func(id []byte) *chainpb.TxBody { return revokeBody(make([]byte, 12), 0, nil) }, fixture.Reader, "", chain.CodeUnknownAttestation},
		{"the subject signing with another key", func(id []byte) *chainpb.TxBody {
			return revokeBody(id, 0, w.Holders[fixture.Alice].CertDER)
		}, "", fixture.Bob, chain.CodeBadSubjectSig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, m, id := attested(t, w)
			_, err := deliver(t, m, st, sign(t, w, tc.body(id), tc.member, tc.holder))
			if chain.CodeOf(err) != tc.code {
				t.Fatalf("got %v (code %d), want code %d", err, chain.CodeOf(err), tc.code)
			}
			if status(st, w, fixture.Alice).State != chain.StateValid {
				t.Fatal("refused revocation changed the status")
			}
		})
	}
}

func revokeSubjects(seq uint64, when int64, subjects ...[]byte) *chainpb.TxBody {
	return &chainpb.TxBody{Sequence: seq, Msg: &chainpb.TxBody_RevokeSubjects{RevokeSubjects: &chainpb.RevokeSubjects{
		Commitments: subjects, Reason: "certificate revoked", EffectiveTime: when}}}
}

// TestRevokeSubjects: a revoked commitment makes every attestation of the
// subject read as revoked and refuses new ones; resubmitting is harmless.
func TestRevokeSubjects(t *testing.T) {
	w := world(t)
	st, m, _ := attested(t, w)
	alice, bob := w.Subject(fixture.Alice), w.Subject(fixture.Bob)
	res, err := deliver(t, m, st, sign(t, w, revokeSubjects(0, env.Time-60, alice, bob), fixture.Reader, ""))
	if err != nil {
		t.Fatal(err)
	}
	if s := status(st, w, fixture.Alice); s.State != chain.StateRevoked || s.Revocation.Reason != "certificate revoked" {
		t.Fatalf("alice: %+v", s)
	}
	changed := 0
	for _, e := range res.Events {
		if e.Type == "revoke_subject_claim" {
			changed++
		}
	}
	if changed != 1 {
		t.Fatalf("%d claim-change events, want 1 (alice's kyc)", changed)
	}
	// New attestations of a revoked subject are refused with their own code.
	raw, _ := w.AttestTx(fixture.Attest{Sequence: 1, ClaimType: "fare"})
	if _, err := deliver(t, m, st, raw); chain.CodeOf(err) != chain.CodeSubjectRevoked {
		t.Fatalf("attest after revocation: %v", err)
	}
	// Resubmitting (an interrupted CLI) is accepted and changes nothing.
	if _, err := deliver(t, m, st, sign(t, w, revokeSubjects(1, env.Time, alice), fixture.Reader, "")); err != nil {
		t.Fatalf("resubmission: %v", err)
	}
	if r := chain.GetSubjectRevocation(st, alice); r.EffectiveTime != env.Time-60 {
		t.Fatal("resubmission overwrote the first revocation")
	}
}

func TestRevokeSubjectsRefusals(t *testing.T) {
	w := world(t)
	alice := w.Subject(fixture.Alice)
	many := make([][]byte, 257)
	for i := range many {
		many[i] = make([]byte, 32)
		many[i][0], many[i][1] = byte(i), byte(i>>8)
	}
	for _, tc := range []struct {
		name   string
		body   *chainpb.TxBody
		member string
		code   chain.Code
	}{
		{"not a revoker", revokeSubjects(0, env.Time, alice), fixture.Attester, chain.CodeMissingRole},
		{"too many", revokeSubjects(0, env.Time, many...), fixture.Reader, chain.CodeTooManySubjects},
		{"future effective time", revokeSubjects(0, env.Time+3600, alice), fixture.Reader, chain.CodeInvalidField},
		{"duplicate", revokeSubjects(0, env.Time, alice, alice), fixture.Reader, chain.CodeInvalidField},
		{"short commitment", revokeSubjects(0, env.Time, alice[:31]), fixture.Reader, chain.CodeInvalidField},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newState(t, w, nil)
			_, err := deliver(t, chain.NewMachine(10), st, sign(t, w, tc.body, tc.member, ""))
			if chain.CodeOf(err) != tc.code {
				t.Fatalf("got %v, want code %d", err, tc.code)
			}
		})
	}
}
