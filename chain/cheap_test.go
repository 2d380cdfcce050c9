package chain_test

import (
	"testing"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
)

// Cheap rules run before signatures and certificate chains: a transaction
// that cannot apply costs an attacker's target no RSA or ed25519 work. The
// machine's certificate cache counts every chain it checks (misses).

// TestSubjectRevocationComparesSubjectFirst: a subject revocation with
// somebody else's certificate is refused on the commitment compare, before
// any chain or RSA check.
func TestSubjectRevocationComparesSubjectFirst(t *testing.T) {
	w := world(t)
	st, m, id := attested(t, w) // alice's attestation
	_, before := m.CacheStats()
	raw := sign(t, w, revokeBody(id, 0, w.Holders[fixture.Stranger].CertDER), "", fixture.Bob) // bob's signature: wrong anyway
	if _, err := deliver(t, m, st, raw); chain.CodeOf(err) != chain.CodeNotAuthorized {
		t.Fatalf("revocation with another subject's certificate: %v, want not authorized", err)
	}
	if _, after := m.CacheStats(); after != before {
		t.Fatalf("%d certificate chains checked for a revocation the subject compare refuses", after-before)
	}
	// Already revoked: refused before the chain too.
	if _, err := deliver(t, m, st, sign(t, w, revokeBody(id, 1, nil), fixture.Operator, "")); err != nil {
		t.Fatal(err)
	}
	_, before = m.CacheStats()
	if _, err := deliver(t, m, st, sign(t, w, revokeBody(id, 0, w.Holders[fixture.Alice].CertDER), "", fixture.Alice)); chain.CodeOf(err) != chain.CodeAlreadyRevoked {
		t.Fatalf("revoking twice: %v", err)
	}
	if _, after := m.CacheStats(); after != before {
		t.Fatal("a certificate chain was checked for an already revoked attestation")
	}
}

// TestAttestCheapRulesFirst: the state rules (a revoked subject, a
// lifetime too long) refuse an attestation before the holder's RSA
// signature or the member's ed25519 signature is checked; so do they for
// revoking subjects.
func TestAttestCheapRulesFirst(t *testing.T) {
	w := world(t)
	st := newState(t, w, nil)
	m := chain.NewMachine(100)
	if _, err := deliver(t, m, st, sign(t, w, revokeSubjects(0, env.Time, w.Subject(fixture.Bob)), fixture.Reader, "")); err != nil {
		t.Fatal(err)
	}
	raw, _ := w.AttestTx(fixture.Attest{Holder: fixture.Bob, Tamper: func(tx *chainpb.Tx) { tx.SubjectSignature[5] ^= 1 }})
	if _, err := deliver(t, m, st, raw); chain.CodeOf(err) != chain.CodeSubjectRevoked {
		t.Fatalf("revoked subject, forged holder signature: %v, want subject revoked before the RSA check", err)
	}
	raw, _ = w.AttestTx(fixture.Attest{NotAfter: fixture.Now.AddDate(2, 0, 0), Tamper: func(tx *chainpb.Tx) { tx.MemberSignature[5] ^= 1 }})
	if _, err := deliver(t, m, st, raw); chain.CodeOf(err) != chain.CodeLifetimeTooLong {
		t.Fatalf("lifetime too long, forged member signature: %v, want lifetime before the ed25519 check", err)
	}
	// Revoking subjects: a duplicate commitment is refused before the
	// revoker's signature is checked (a tampered one here).
	s := w.Subject(fixture.Alice)
	raw = sign(t, w, revokeSubjects(0, env.Time, s, s), fixture.Operator, "")
	tx, err := chain.DecodeTx(raw, fixture.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	tx.Env.MemberSignature[0] ^= 1 // what a forger sends; the rules never look
	if _, err := m.Deliver(st, env, tx); chain.CodeOf(err) != chain.CodeInvalidField {
		t.Fatalf("duplicate commitments: %v, want invalid field before the signature", err)
	}
}
