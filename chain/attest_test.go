package chain_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
)

// world is the shared fixture world (fixture.MustGet).
var world = fixture.MustGet

func newState(t testing.TB, w *fixture.World, tweak func(*chain.Genesis)) *fixture.MemStore {
	st := fixture.NewMemStore()
	g := w.AppState.Chain()
	if tweak != nil {
		tweak(g)
	}
	chain.InitState(st, fixture.ChainID, g)
	return st
}

var env = chain.Env{Height: 10, Time: fixture.Now.Unix(), TxIndex: 3}

func deliver(t *testing.T, m *chain.Machine, st chain.Store, raw []byte) (*chain.Result, error) {
	t.Helper()
	tx, err := chain.DecodeTx(raw, fixture.ChainID)
	if err != nil {
		return nil, err
	}
	return m.Deliver(st, env, tx)
}

func TestAttestAccepted(t *testing.T) {
	w := world(t)
	st := newState(t, w, nil)
	m := chain.NewMachine(100)
	raw, err := w.AttestTx(fixture.Attest{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := deliver(t, m, st, raw)
	if err != nil {
		t.Fatalf("attest refused: %v", err)
	}
	if len(res.Events) != 1 || res.Events[0].Type != "attest" {
		t.Fatalf("events = %+v", res.Events)
	}
	id := chain.AttestationID(env.Height, env.TxIndex)
	a := chain.GetAttestation(st, id)
	if a == nil || a.ClaimType != "kyc" || a.Attester != fixture.Operator {
		t.Fatalf("attestation = %v", a)
	}
	cs := chain.GetClaimStatus(st, w.Subject(fixture.Alice), "kyc")
	if got := chain.StatusOf(cs, env.Time).State; got != chain.StateValid {
		t.Fatalf("status = %s, want valid", got)
	}
	if got := chain.StatusOf(cs, fixture.Now.AddDate(0, 0, 31).Unix()).State; got != chain.StateExpired {
		t.Fatalf("status after not-after = %s, want expired", got)
	}
	if got := chain.GetMember(st, fixture.Operator).Sequence; got != 1 {
		t.Fatalf("sequence = %d, want 1", got)
	}
	// The same transaction again is a replay.
	if _, err := deliver(t, m, st, raw); chain.CodeOf(err) != chain.CodeBadSequence {
		t.Fatalf("replay: %v, want bad sequence", err)
	}
}

// TestAttestRefusals: every refusal has its own code and a plain message,
// and a refused transaction writes nothing.
func TestAttestRefusals(t *testing.T) {
	w := world(t)
	allowSigning := func(g *chain.Genesis) { g.Params.AllowSigningCertificates = true }
	cases := []struct {
		name    string
		attest  fixture.Attest
		raw     []byte
		genesis func(*chain.Genesis)
		code    chain.Code
		msg     string
	}{
		{name: "garbage bytes", raw: []byte("\xff\x00garbage"), code: chain.CodeMalformedTx, msg: "does not decode"},
		{name: "expired certificate", attest: fixture.Attest{Holder: fixture.Expired}, code: chain.CodeCertExpired, msg: "expired"},
		{name: "not yet valid", attest: fixture.Attest{Holder: fixture.Future}, code: chain.CodeCertNotYetValid, msg: "not valid"},
		{name: "unknown issuer", attest: fixture.Attest{Holder: fixture.Stranger}, code: chain.CodeCertUnknownIssuer},
		{name: "anchor of the wrong kind", attest: fixture.Attest{Holder: fixture.WrongCA}, code: chain.CodeCertWrongAnchorKind},
		{name: "signing certificate", attest: fixture.Attest{Holder: fixture.Signing}, code: chain.CodeCertSigningProfile, msg: "signing"},
		{name: "RSA-1024", attest: fixture.Attest{Holder: fixture.Weak}, code: chain.CodeCertWeakKey, msg: "1024"},
		{name: "SHA-1", attest: fixture.Attest{Holder: fixture.SHA1}, code: chain.CodeCertBadAlgorithm},
		{name: "tampered subject signature", attest: fixture.Attest{Tamper: func(tx *chainpb.Tx) { tx.SubjectSignature[10] ^= 1 }}, code: chain.CodeBadSubjectSig},
		{name: "tampered member signature", attest: fixture.Attest{Tamper: func(tx *chainpb.Tx) { tx.MemberSignature[10] ^= 1 }}, code: chain.CodeBadMemberSig},
		// A changed claim hash still fits every rule: only the signatures
		// catch it. (A change that breaks a cheaper rule, say not-after, is
		// refused by that rule before any signature is checked.)
		{name: "body changed after signing", attest: fixture.Attest{Tamper: func(tx *chainpb.Tx) {
			h := sha256.Sum256([]byte("claim"))
			tx.Body[bytes.Index(tx.Body, h[:])] ^= 1
		}}, code: chain.CodeBadMemberSig},
		{name: "missing subject signature", attest: fixture.Attest{Tamper: func(tx *chainpb.Tx) { tx.SubjectSignature = nil }}, code: chain.CodeMissingSig},
		{name: "another chain ID", attest: fixture.Attest{ChainID: "other-chain"}, code: chain.CodeWrongChainID, msg: `"other-chain"`},
		{name: "skipped sequence", attest: fixture.Attest{Sequence: 1}, code: chain.CodeBadSequence, msg: "operator sequence 1, expected 0"},
		{name: "unknown attester", attest: fixture.Attest{Member: "nobody"}, code: chain.CodeUnknownSigner, msg: `"nobody" is not a member`},
		{name: "attester without the role", attest: fixture.Attest{Member: fixture.Reader}, code: chain.CodeMissingRole, msg: "not a attester"},
		{name: "not-after beyond the certificate", attest: fixture.Attest{NotAfter: fixture.Now.AddDate(6, 0, 0)}, code: chain.CodeNotAfterBeyondCert, msg: "beyond the certificate"},
		{name: "not-after past", attest: fixture.Attest{NotAfter: fixture.Now.Add(-time.Second)}, code: chain.CodeNotAfterPassed},
		{name: "lifetime too long", attest: fixture.Attest{NotAfter: fixture.Now.AddDate(2, 0, 0)}, code: chain.CodeLifetimeTooLong, msg: "maximum lifetime"},
		{name: "bad claim type", attest: fixture.Attest{ClaimType: "Has Spaces"}, code: chain.CodeInvalidField},
		{name: "short claim hash", attest: fixture.Attest{Mutate: func(b *chainpb.TxBody) { b.GetAttest().ClaimHash = []byte{1, 2} }}, code: chain.CodeInvalidField},
		{name: "no message", attest: fixture.Attest{Mutate: func(b *chainpb.TxBody) { b.Msg = nil }}, code: chain.CodeUnknownMessage},
		{name: "certificate is garbage", attest: fixture.Attest{Mutate: func(b *chainpb.TxBody) { b.GetAttest().AuthCertificate = []byte("not a certificate") }}, code: chain.CodeCertMalformed},
		{name: "signing certificate allowed but still verified", genesis: allowSigning, attest: fixture.Attest{Holder: fixture.Signing, Tamper: func(tx *chainpb.Tx) { tx.SubjectSignature[0] ^= 1 }}, code: chain.CodeBadSubjectSig},
	}
	codes := map[chain.Code]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newState(t, w, tc.genesis)
			before := st.Snapshot()
			raw := tc.raw
			if raw == nil {
				var err error
				if raw, err = w.AttestTx(tc.attest); err != nil {
					t.Fatal(err)
				}
			}
			_, err := deliver(t, chain.NewMachine(100), st, raw)
			if err == nil {
				t.Fatal("accepted, want refused")
			}
			var te *chain.TxError
			if !errors.As(err, &te) {
				t.Fatalf("error %T is not a *chain.TxError: %v", err, err)
			}
			if te.Code != tc.code {
				t.Fatalf("code %d (%v), want %d", te.Code, err, tc.code)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q does not say %q", err, tc.msg)
			}
			if !maps.Equal(before, st.Snapshot()) {
				t.Fatal("a refused transaction changed the state")
			}
		})
		if prev, dup := codes[tc.code]; dup && tc.code != chain.CodeInvalidField && tc.code != chain.CodeBadMemberSig && tc.code != chain.CodeBadSubjectSig {
			t.Errorf("%q and %q share code %d", prev, tc.name, tc.code)
		}
		codes[tc.code] = tc.name
	}
}

// TestSigningCertificateOnlyWhenAllowed: the JPKI signing certificate (name,
// address, birth date, sex) is refused unless a chain parameter allows it.
func TestSigningCertificateOnlyWhenAllowed(t *testing.T) {
	w := world(t)
	raw, err := w.AttestTx(fixture.Attest{Holder: fixture.Signing})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deliver(t, chain.NewMachine(10), newState(t, w, nil), raw); chain.CodeOf(err) != chain.CodeCertSigningProfile {
		t.Fatalf("default params: %v, want the signing certificate refused", err)
	}
	st := newState(t, w, func(g *chain.Genesis) { g.Params.AllowSigningCertificates = true })
	if _, err := deliver(t, chain.NewMachine(10), st, raw); err != nil {
		t.Fatalf("allow_signing_certificates: %v", err)
	}
}

func TestClaimCapacity(t *testing.T) {
	w := world(t)
	st := newState(t, w, func(g *chain.Genesis) { g.Params.MaxAttestationsPerClaim = 2 })
	m := chain.NewMachine(10)
	for seq := uint64(0); seq < 3; seq++ {
		raw, err := w.AttestTx(fixture.Attest{Sequence: seq})
		if err != nil {
			t.Fatal(err)
		}
		_, err = deliver(t, m, st, raw)
		if seq < 2 && err != nil {
			t.Fatalf("attestation %d: %v", seq, err)
		}
		if seq == 2 && chain.CodeOf(err) != chain.CodeClaimFull {
			t.Fatalf("third live attestation: %v, want claim full", err)
		}
	}
}
