package presentation_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/presentation"
	"github.com/idledger/idledger/signer"
)

// storeSource answers from a chain state in memory, at a pinned height.
type storeSource struct{ st chain.Store }

func (s storeSource) ClaimStatus(_ context.Context, subject []byte, claimType string) (*presentation.KnownStatus, error) {
	return &presentation.KnownStatus{Record: chain.GetClaimStatus(s.st, subject, claimType), Height: 10, Time: fixture.Now, Source: "memory"}, nil
}

type unknownSource struct{}

func (unknownSource) ClaimStatus(context.Context, []byte, string) (*presentation.KnownStatus, error) {
	return nil, presentation.ErrStatusUnknown
}

// world is the shared fixture world (fixture.MustGet).
var world = fixture.MustGet

// chainState is a fixture chain where alice holds a valid "kyc", "gym"
// lapsed, "club" is revoked; bob holds nothing.
func chainState(t testing.TB, w *fixture.World) chain.Store {
	t.Helper()
	st := fixture.NewMemStore()
	chain.InitState(st, fixture.ChainID, w.AppState.Chain())
	m := chain.NewMachine(10)
	deliver := func(height int64, raw []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		tx, err := chain.DecodeTx(raw, fixture.ChainID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Deliver(st, chain.Env{Height: height, Time: fixture.Now.Add(-30 * time.Minute).Unix()}, tx); err != nil {
			t.Fatalf("deliver at %d: %v", height, err)
		}
	}
	raw, err := w.AttestTx(fixture.Attest{ClaimType: "kyc", Sequence: 0})
	deliver(1, raw, err)
	raw, err = w.AttestTx(fixture.Attest{ClaimType: "gym", Sequence: 1, NotAfter: fixture.Now.Add(-time.Minute)})
	deliver(2, raw, err)
	raw, err = w.AttestTx(fixture.Attest{ClaimType: "club", Sequence: 2})
	deliver(3, raw, err)
	body, err := chain.EncodeBody(&chainpb.TxBody{ChainId: fixture.ChainID, Signer: fixture.Operator, Sequence: 3,
		Msg: &chainpb.TxBody_RevokeAttestation{RevokeAttestation: &chainpb.RevokeAttestation{AttestationId: chain.AttestationID(3, 0), Reason: "left the club"}}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err = chain.EncodeTx(body, w.MemberKeys[fixture.Operator], nil)
	deliver(4, raw, err)
	return st
}

func anchors(t testing.TB, w *fixture.World) []*jpki.Anchor {
	t.Helper()
	var out []*jpki.Anchor
	for _, der := range [][]byte{w.AuthCA.CertDER, w.SignCA.CertDER} {
		a, err := jpki.ParseAnchor(der)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func holderSigner(t testing.TB, w *fixture.World, name string) signer.Signer {
	t.Helper()
	h := w.Holders[name]
	s, err := signer.NewSoft(h.Key, h.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// certSwap signs with one holder's key and shows another's certificate.
type certSwap struct {
	signer.Signer
	cert []byte
}

func (c certSwap) Certificate(context.Context) ([]byte, error) { return c.cert, nil }

var challenge = bytes.Repeat([]byte{0xc1}, 32)

func TestVerify(t *testing.T) {
	w := world(t)
	st := chainState(t, w)
	ctx := context.Background()
	alice := holderSigner(t, w, fixture.Alice)
	req := presentation.Request{ChainID: fixture.ChainID, Challenge: challenge, Audience: "gate-7", Time: fixture.Now.Add(-10 * time.Second)}
	with := func(f func(*presentation.Request)) presentation.Request { r := req; f(&r); return r }

	for _, tc := range []struct {
		name      string
		signer    signer.Signer
		req       presentation.Request
		claimType string
		tamper    func(*presentation.Presentation)
		opts      func(*presentation.VerifyOptions)
		twice     bool // present the same presentation again: the second is the case
		want      presentation.Reason
		wantJPKI  jpki.Reason
	}{
		{name: "valid", signer: alice, req: req},
		{name: "replayed challenge", signer: alice, req: req, twice: true, want: presentation.ReasonReplayed},
		{name: "another holder's certificate", signer: certSwap{alice, w.Holders[fixture.Bob].CertDER}, req: req, want: presentation.ReasonBadSignature},
		{name: "bob has no attestation", signer: holderSigner(t, w, fixture.Bob), req: req, want: presentation.ReasonNoAttestation},
		{name: "wrong audience", signer: alice, req: with(func(r *presentation.Request) { r.Audience = "gate-8" }), want: presentation.ReasonWrongAudience},
		{name: "wrong chain", signer: alice, req: with(func(r *presentation.Request) { r.ChainID = "other" }), want: presentation.ReasonWrongChain},
		{name: "stale", signer: alice, req: with(func(r *presentation.Request) { r.Time = fixture.Now.Add(-3 * time.Minute) }), want: presentation.ReasonStale},
		{name: "future", signer: alice, req: with(func(r *presentation.Request) { r.Time = fixture.Now.Add(time.Minute) }), want: presentation.ReasonFuture},
		{name: "skew tolerated", signer: alice, req: with(func(r *presentation.Request) { r.Time = fixture.Now.Add(20 * time.Second) })},
		{name: "bad signature", signer: alice, req: req, tamper: func(p *presentation.Presentation) { p.Signature[10] ^= 1 }, want: presentation.ReasonBadSignature},
		{name: "body changed after signing", signer: alice, req: req, tamper: func(p *presentation.Presentation) { p.Body[len(p.Body)-1] ^= 1 }, want: presentation.ReasonBadSignature},
		{name: "expired attestation", signer: alice, req: req, claimType: "gym", want: presentation.ReasonAttestationExpired},
		{name: "revoked attestation", signer: alice, req: req, claimType: "club", want: presentation.ReasonAttestationRevoked},
		{name: "no attestation of that type", signer: alice, req: req, claimType: "pilot", want: presentation.ReasonNoAttestation},
		{name: "expired certificate", signer: holderSigner(t, w, fixture.Expired), req: req, want: presentation.ReasonCertificate, wantJPKI: jpki.ReasonExpired},
		{name: "untrusted issuer", signer: holderSigner(t, w, fixture.Stranger), req: req, want: presentation.ReasonCertificate, wantJPKI: jpki.ReasonUnknownIssuer},
		{name: "signing certificate", signer: holderSigner(t, w, fixture.Signing), req: req, want: presentation.ReasonCertificate, wantJPKI: jpki.ReasonSigningCertificate},
		{name: "not the issued challenge", signer: alice, req: req, opts: func(o *presentation.VerifyOptions) { o.Challenge = bytes.Repeat([]byte{2}, 32) }, want: presentation.ReasonWrongChallenge},
		{name: "status unknown", signer: alice, req: req, opts: func(o *presentation.VerifyOptions) { o.Status = unknownSource{} }, want: presentation.ReasonStatusUnknown},
		{name: "status too old", signer: alice, req: req, opts: func(o *presentation.VerifyOptions) {
			o.Now = fixture.Now.Add(5 * time.Second)
			o.MaxStatusAge = time.Second
		}, want: presentation.ReasonStatusStale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := presentation.Make(ctx, tc.signer, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			p, err := presentation.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if tc.tamper != nil {
				tc.tamper(p)
			}
			ct := tc.claimType
			if ct == "" {
				ct = "kyc"
			}
			opts := presentation.VerifyOptions{
				ChainID: fixture.ChainID, Anchors: anchors(t, w), Now: fixture.Now, Audience: "gate-7", ClaimType: ct,
				Challenges: presentation.NewMemChallenges(), Status: storeSource{st},
			}
			if tc.opts != nil {
				tc.opts(&opts)
			}
			res, err := presentation.Verify(ctx, p, opts)
			if tc.twice {
				if err != nil {
					t.Fatalf("first presentation: %v", err)
				}
				res, err = presentation.Verify(ctx, p, opts)
			}
			if got := presentation.ReasonOf(err); got != tc.want {
				t.Fatalf("reason = %q (%v), want %q", got, err, tc.want)
			}
			if tc.want == "" {
				if res.Status.State != chain.StateValid || !bytes.Equal(res.Subject, w.Subject(fixture.Alice)) {
					t.Errorf("result = %+v", res)
				}
				return
			}
			var e *presentation.Error
			if !errors.As(err, &e) || e.JPKI != tc.wantJPKI {
				t.Errorf("jpki reason = %v, want %v", e.JPKI, tc.wantJPKI)
			}
		})
	}
}

func TestSignBytesNotATransaction(t *testing.T) {
	body := []byte{0x0a, 0x01, 'x'}
	p, tx := presentation.SignBytes(body), chain.SignBytes(body)
	if bytes.Equal(p, tx) || bytes.HasPrefix(p, tx) || bytes.HasPrefix(tx, p) {
		t.Fatalf("presentation sign bytes %q and tx sign bytes %q are confusable", p, tx)
	}
}

func TestDecodeRefusals(t *testing.T) {
	w := world(t)
	raw, err := presentation.Make(context.Background(), holderSigner(t, w, fixture.Alice),
		presentation.Request{ChainID: fixture.ChainID, Challenge: challenge, Audience: "gate-7", Time: fixture.Now})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":         nil,
		"garbage":       []byte("not a presentation"),
		"unknown field": append(bytes.Clone(raw), 0x20, 0x01),
		"too large":     make([]byte, presentation.MaxSize+1),
	} {
		if _, err := presentation.Decode(b); presentation.ReasonOf(err) != presentation.ReasonMalformed {
			t.Errorf("%s: err = %v, want malformed", name, err)
		}
	}
	for name, r := range map[string]presentation.Request{
		"short challenge": {ChainID: fixture.ChainID, Challenge: []byte{1}, Audience: "a", Time: fixture.Now},
		"audience space":  {ChainID: fixture.ChainID, Challenge: challenge, Audience: "gate 7", Time: fixture.Now},
		"no chain":        {Challenge: challenge, Audience: "a", Time: fixture.Now},
	} {
		if _, err := presentation.Make(context.Background(), holderSigner(t, w, fixture.Alice), r); presentation.ReasonOf(err) != presentation.ReasonMalformed {
			t.Errorf("%s: err = %v, want malformed", name, err)
		}
	}
}

func TestFileChallenges(t *testing.T) {
	f := presentation.FileChallenges{Path: filepath.Join(t.TempDir(), "sub", "challenges")}
	now := fixture.Now
	use := func(c string, exp, now time.Time) bool {
		t.Helper()
		ok, err := f.Use([]byte(c), exp, now)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !use("a", now.Add(time.Minute), now) || !use("b", now.Add(time.Hour), now) {
		t.Fatal("fresh challenges refused")
	}
	if use("a", now.Add(time.Minute), now.Add(time.Second)) {
		t.Error("replayed challenge accepted")
	}
	// After its expiry a challenge is forgotten (the presentation is stale
	// by then); the others are kept.
	if !use("a", now.Add(3*time.Minute), now.Add(2*time.Minute)) {
		t.Error("expired entry still blocks")
	}
	if use("b", now.Add(time.Hour), now.Add(2*time.Minute)) {
		t.Error("live entry forgotten")
	}
	// A new store on the same file (another process) sees them.
	if ok, err := (presentation.FileChallenges{Path: f.Path}).Use([]byte("b"), now, now); ok || err != nil {
		t.Errorf("second store: fresh %v, err %v", ok, err)
	}
}

func FuzzDecode(f *testing.F) {
	w, err := fixture.Get()
	if err != nil {
		f.Fatal(err)
	}
	s, _ := signer.NewSoft(w.Holders[fixture.Alice].Key, w.Holders[fixture.Alice].CertDER)
	raw, err := presentation.Make(context.Background(), s, presentation.Request{ChainID: fixture.ChainID, Challenge: challenge, Audience: "gate-7", Time: fixture.Now})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := presentation.Decode(b)
		if err != nil {
			if presentation.ReasonOf(err) != presentation.ReasonMalformed {
				t.Fatalf("refusal without a reason: %v", err)
			}
			return
		}
		// What decodes re-encodes to something that decodes the same.
		again, err := presentation.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := presentation.Decode(again)
		if err != nil || !bytes.Equal(q.Body, p.Body) || q.Audience != p.Audience || !bytes.Equal(q.Challenge, p.Challenge) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
