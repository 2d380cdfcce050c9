package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/internal/fixture"
	"github.com/idledger/idledger/signer"
)

// offlineClient is a generate-only client whose transactions land in *out.
func offlineClient(t *testing.T, member string, seq uint64, out *[][]byte) *client.Client {
	t.Helper()
	c, err := client.New("http://127.0.0.1:1", client.WithClock(func() time.Time { return fixture.Now }),
		client.WithGenerateOnly(client.Offline{
			ChainID: fixture.ChainID, Member: member, Sequence: seq,
			Write: func(tx []byte) error { *out = append(*out, bytes.Clone(tx)); return nil },
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fixtureApp is an app at the fixture chain's genesis.
func fixtureApp(t *testing.T, w *fixture.World) *app.App { return fixtureAppTB(t, w) }

func fixtureAppTB(t testing.TB, w *fixture.World) *app.App {
	t.Helper()
	a, err := app.New(app.Options{DBDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	st, err := json.Marshal(w.AppState)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: fixture.ChainID, AppStateBytes: st, InitialHeight: 1, Time: fixture.Now}); err != nil {
		t.Fatal(err)
	}
	// An empty first block commits the genesis state CheckTx reads.
	if _, err := a.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: 1, Time: fixture.Now}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestGeneratedTxTamperRefused signs transactions offline (a generate-only
// client, no node), then shows that the node's CheckTx refuses, with a
// code, every copy of them with one byte flipped (three ways at every
// position), cut short at any length, or extended by a byte, and accepts
// the untouched bytes: no change to a signed file is ever accepted with
// another meaning.
func TestGeneratedTxTamperRefused(t *testing.T) {
	w, err := fixture.Get()
	if err != nil {
		t.Fatal(err)
	}
	a := fixtureApp(t, w)
	ctx := context.Background()
	h := w.Holders[fixture.Alice]
	sig, err := signer.NewSoft(h.Key, h.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	key := w.MemberKeys[fixture.Operator]
	claim := sha256.Sum256([]byte("kyc done"))

	var txs [][]byte
	_, err = offlineClient(t, fixture.Operator, 0, &txs).Attest(ctx, client.AttestRequest{
		Signer: sig, MemberKey: key, ClaimType: "kyc", ClaimHash: claim[:],
	})
	if !errors.Is(err, client.ErrGenerated) {
		t.Fatalf("offline attest: %v, want ErrGenerated", err)
	}
	_, err = offlineClient(t, fixture.Operator, 1, &txs).RevokeSubjects(ctx, client.MemberAuth{Key: key},
		[][]byte{w.Subject(fixture.Bob)}, "card reported lost", fixture.Now.Unix())
	if !errors.Is(err, client.ErrGenerated) {
		t.Fatalf("offline revoke subjects: %v, want ErrGenerated", err)
	}
	if len(txs) != 2 {
		t.Fatalf("%d transactions written, want 2", len(txs))
	}

	check := func(tx []byte) *abci.ResponseCheckTx {
		r, err := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_New})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for n, tx := range txs {
		tried := 0
		refusedOK := func(what string, m []byte) {
			tried++
			if r := check(m); r.Code == abci.CodeTypeOK || r.Log == "" {
				t.Fatalf("tx %d %s: code %d %q, want a refusal with its reason", n, what, r.Code, r.Log)
			}
		}
		for i := range tx {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				m := bytes.Clone(tx)
				m[i] ^= mask
				refusedOK("byte "+itoa(i)+" ^ "+itoa(int(mask)), m)
			}
		}
		for l := 0; l < len(tx); l++ {
			refusedOK("cut to "+itoa(l)+" bytes", bytes.Clone(tx[:l]))
		}
		refusedOK("with a byte appended", append(bytes.Clone(tx), 0))
		// The untouched transaction is accepted last (it moves the
		// member's sequence on).
		if r := check(tx); r.Code != abci.CodeTypeOK {
			t.Fatalf("tx %d as generated: refused: %s (code %d)", n, r.Log, r.Code)
		}
		t.Logf("tx %d: %d bytes, %d altered copies refused", n, len(tx), tried)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// countingSigner records whether the holder was asked for anything.
type countingSigner struct {
	signer.Signer
	mu           sync.Mutex
	asked, signs int
}

func (s *countingSigner) Certificate(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	s.asked++
	s.mu.Unlock()
	return s.Signer.Certificate(ctx)
}

func (s *countingSigner) SignDigestInfo(ctx context.Context, di []byte) ([]byte, error) {
	s.mu.Lock()
	s.asked++
	s.signs++
	s.mu.Unlock()
	return s.Signer.SignDigestInfo(ctx, di)
}

// TestRefusedBeforeTheCardIsAsked: what the chain would refuse whatever the
// card says (a bad claim type, a past not-after, a My Number in a reason)
// is refused before the holder's signer is asked for its certificate or a
// signature, so a card or phone never asks for a PIN in vain.
func TestRefusedBeforeTheCardIsAsked(t *testing.T) {
	w, err := fixture.Get()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h := w.Holders[fixture.Alice]
	soft, err := signer.NewSoft(h.Key, h.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	key := w.MemberKeys[fixture.Operator]
	claim := sha256.Sum256([]byte("kyc done"))
	var txs [][]byte
	c := offlineClient(t, fixture.Operator, 0, &txs)
	for _, tc := range []struct {
		name, want string
		run        func(s signer.Signer) error
	}{
		{"bad claim type", "claim type", func(s signer.Signer) error {
			_, err := c.Attest(ctx, client.AttestRequest{Signer: s, MemberKey: key, ClaimType: "KYC!", ClaimHash: claim[:]})
			return err
		}},
		{"not-after in the past", "not in the future", func(s signer.Signer) error {
			_, err := c.Attest(ctx, client.AttestRequest{Signer: s, MemberKey: key, ClaimType: "kyc", ClaimHash: claim[:], NotAfter: fixture.Now.Add(-1)})
			return err
		}},
		{"My Number in the claim type", "My Number", func(s signer.Signer) error {
			_, err := c.Attest(ctx, client.AttestRequest{Signer: s, MemberKey: key, ClaimType: "x123456789018", ClaimHash: claim[:]})
			return err
		}},
		{"My Number in a holder's reason", "My Number", func(s signer.Signer) error {
			_, err := c.RevokeAttestation(ctx, client.RevokeAttestationRequest{ID: make([]byte, chain.AttestationIDLen), Reason: "lost card of 123456789018", Subject: s})
			return err
		}},
		{"reason too long", "reason", func(s signer.Signer) error {
			_, err := c.RevokeAttestation(ctx, client.RevokeAttestationRequest{ID: make([]byte, chain.AttestationIDLen), Reason: strings.Repeat("x", chain.MaxReasonLen+1), Subject: s})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &countingSigner{Signer: soft}
			err := tc.run(s)
			if err == nil || errors.Is(err, client.ErrGenerated) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a refusal mentioning %q", err, tc.want)
			}
			if s.asked != 0 {
				t.Fatalf("the holder's signer was asked %d times before the refusal", s.asked)
			}
		})
	}
	// Offline, an expired certificate is refused once read, before the
	// holder signs.
	eh := w.Holders[fixture.Expired]
	esoft, err := signer.NewSoft(eh.Key, eh.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	s := &countingSigner{Signer: esoft}
	_, err = c.Attest(ctx, client.AttestRequest{Signer: s, MemberKey: key, ClaimType: "kyc", ClaimHash: claim[:], NotAfter: fixture.Now.Add(time.Hour)})
	var te *client.TxError
	if !errors.As(err, &te) || te.Code != uint32(chain.CodeCertExpired) || te.Stage != client.StageLocal || s.signs != 0 {
		t.Fatalf("offline attest with an expired certificate: %v (signed %d times), want a local refusal with code %d before signing", err, s.signs, chain.CodeCertExpired)
	}
	if len(txs) != 0 {
		t.Fatalf("%d transactions written for refused requests", len(txs))
	}
}

// FuzzBroadcastFile feeds arbitrary files to a node's CheckTx the way
// idledger broadcast sends them: none may panic it, and none may be
// accepted unless it is, byte for byte, what a signer produces: the
// canonical encoding of a body signed by its member (seeds: transactions
// generated offline).
func FuzzBroadcastFile(f *testing.F) {
	w, err := fixture.Get()
	if err != nil {
		f.Fatal(err)
	}
	h := w.Holders[fixture.Alice]
	sig, err := signer.NewSoft(h.Key, h.CertDER)
	if err != nil {
		f.Fatal(err)
	}
	key := w.MemberKeys[fixture.Operator]
	claim := sha256.Sum256([]byte("kyc done"))
	var txs [][]byte
	c, err := client.New("http://127.0.0.1:1", client.WithClock(func() time.Time { return fixture.Now }),
		client.WithGenerateOnly(client.Offline{ChainID: fixture.ChainID, Member: fixture.Operator,
			Write: func(tx []byte) error { txs = append(txs, bytes.Clone(tx)); return nil }}))
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Attest(ctx, client.AttestRequest{Signer: sig, MemberKey: key, ClaimType: "kyc", ClaimHash: claim[:]}); !errors.Is(err, client.ErrGenerated) {
		f.Fatal(err)
	}
	if _, err := c.RevokeSubjects(ctx, client.MemberAuth{Key: key}, [][]byte{w.Subject(fixture.Bob)}, "lost", fixture.Now.Unix()); !errors.Is(err, client.ErrGenerated) {
		f.Fatal(err)
	}
	for _, tx := range txs {
		f.Add(tx)
	}
	f.Add([]byte{})
	f.Add([]byte("junk"))
	a := fixtureAppTB(f, w)
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: in, Type: abci.CheckTxType_New})
		if err != nil {
			t.Fatal(err)
		}
		if r.Code == abci.CodeTypeOK && !asSigned(w, in) {
			t.Fatalf("an altered transaction was accepted: %x", in)
		}
		if r.Code != abci.CodeTypeOK && r.Log == "" {
			t.Fatalf("refused with code %d and no reason", r.Code)
		}
	})
}

// asSigned reports whether raw is exactly the transaction a member of w
// produces for the body it carries: nothing in it was changed after
// signing.
func asSigned(w *fixture.World, raw []byte) bool {
	env := new(chainpb.Tx)
	if proto.Unmarshal(raw, env) != nil {
		return false
	}
	body := new(chainpb.TxBody)
	if proto.Unmarshal(env.Body, body) != nil {
		return false
	}
	if re, err := chain.EncodeBody(body); err != nil || !bytes.Equal(re, env.Body) {
		return false
	}
	key := w.MemberKeys[body.Signer]
	if body.Signer == "" {
		key = nil
	}
	re, err := chain.EncodeTx(env.Body, key, env.SubjectSignature)
	return err == nil && bytes.Equal(re, raw)
}
