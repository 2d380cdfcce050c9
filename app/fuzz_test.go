package app_test

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"os"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/internal/fixture"
	"github.com/idledger/idledger/jpki"
)

// fuzzSeeds are well-formed transactions of every kind on the fixture
// chain, for the fuzzers to start from.
func fuzzSeeds(f *testing.F, w *fixture.World) [][]byte {
	f.Helper()
	var out [][]byte
	add := func(raw []byte, err error) {
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, raw)
	}
	for _, a := range []fixture.Attest{{}, {Holder: fixture.Bob, Sequence: 1}, {Holder: fixture.Signing}, {Holder: fixture.Expired}, {Sequence: 3}} {
		add(w.AttestTx(a))
	}
	add(w.Sign(&chainpb.TxBody{Msg: &chainpb.TxBody_RevokeAttestation{RevokeAttestation: &chainpb.RevokeAttestation{
		AttestationId: chain.AttestationID(2, 0), Reason: "lost"}}}, fixture.Operator, ""))
	add(w.Sign(&chainpb.TxBody{Msg: &chainpb.TxBody_RevokeAttestation{RevokeAttestation: &chainpb.RevokeAttestation{
		AttestationId: chain.AttestationID(2, 0), SubjectCertificate: w.Holders[fixture.Alice].CertDER}}}, "", fixture.Alice))
	add(w.Sign(&chainpb.TxBody{Msg: &chainpb.TxBody_RevokeSubjects{RevokeSubjects: &chainpb.RevokeSubjects{
		Commitments: [][]byte{w.Subject(fixture.Bob)}, Reason: "crl"}}}, fixture.Reader, ""))
	add(w.Sign(&chainpb.TxBody{Msg: &chainpb.TxBody_Propose{Propose: &chainpb.Propose{Action: &chainpb.GovAction{
		Action: &chainpb.GovAction_AddMember{AddMember: &chainpb.Member{Id: "bank", PubKey: key("bank"), Roles: []string{chain.RoleRevoker, chain.RoleAttester}}}}}}}, fixture.Operator, ""))
	add(w.Sign(&chainpb.TxBody{Msg: &chainpb.TxBody_Vote{Vote: &chainpb.Vote{ProposalId: 1}}}, fixture.Operator, ""))
	// Governance followed by what relies on it in the same block: a new
	// anchor, then a certificate it issued; signing certificates allowed,
	// then one; a forged vote, then an untrusted CA.
	add(w.Sign(&chainpb.TxBody{Msg: &chainpb.TxBody_Propose{Propose: &chainpb.Propose{Action: &chainpb.GovAction{
		Action: &chainpb.GovAction_AddAnchor{AddAnchor: &chainpb.TrustAnchor{Kind: "auth", Certificate: w.OtherCA.CertDER}}}}}}, fixture.Operator, ""))
	add(w.AttestTx(fixture.Attest{Holder: fixture.Stranger, Sequence: 1}))
	allow := proto.Clone(w.AppState.Chain().Params).(*chainpb.Params)
	allow.AllowSigningCertificates = true
	add(w.Sign(&chainpb.TxBody{Msg: &chainpb.TxBody_Propose{Propose: &chainpb.Propose{Action: &chainpb.GovAction{
		Action: &chainpb.GovAction_SetParams{SetParams: allow}}}}}, fixture.Operator, ""))
	add(w.AttestTx(fixture.Attest{Holder: fixture.Signing, Sequence: 1}))
	add(w.Sign(&chainpb.TxBody{Msg: &chainpb.TxBody_Vote{Vote: &chainpb.Vote{ProposalId: 1}}}, "nobody", ""))
	add(w.AttestTx(fixture.Attest{Holder: fixture.Stranger}))
	out = append(out, []byte{}, []byte("junk"), []byte{0x0a, 0x02, 0x52, 0x00})
	return out
}

// fuzzPair is an app under fuzzing and a reference app that only ever
// sees empty blocks: while the fuzzed app refuses everything, both must
// have the same app hash.
type fuzzPair struct {
	dir      string
	gen      []byte
	a, ref   *app.App
	height   int64
	diverged bool
}

func (p *fuzzPair) reset(t testing.TB) {
	t.Helper()
	if p.a != nil {
		p.a.Close()
		p.ref.Close()
	}
	mk := func() *app.App {
		d, err := os.MkdirTemp(p.dir, "app")
		if err != nil {
			t.Fatal(err)
		}
		a := openApp(t, d)
		initWith(t, a, p.gen)
		block(t, a, 1)
		return a
	}
	p.a, p.ref, p.height, p.diverged = mk(), mk(), 1, false
}

// FuzzCheckTxFinalizeBlock: any bytes, as a transaction through CheckTx and
// then in a block through FinalizeBlock on a fixture state, never panic; a
// refusal carries a code and a message, and a block whose transaction is
// refused leaves the app hash of an empty block.
func FuzzCheckTxFinalizeBlock(f *testing.F) {
	w := world(f)
	for _, s := range fuzzSeeds(f, w) {
		f.Add(s)
	}
	p := &fuzzPair{dir: f.TempDir(), gen: tweakedGenesis(f, w, nil)}
	f.Cleanup(func() {
		if p.a != nil {
			p.a.Close()
			p.ref.Close()
		}
	})
	f.Fuzz(func(t *testing.T, raw []byte) {
		if p.a == nil || p.diverged {
			p.reset(t)
		}
		ct, err := p.a.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
		if err != nil {
			t.Fatal(err)
		}
		if ct.Code != 0 && ct.Log == "" {
			t.Fatalf("CheckTx refusal %d without a message", ct.Code)
		}
		p.height++
		tm := fixture.Now.Add(time.Duration(p.height) * time.Second)
		res, err := p.a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: p.height, Time: tm, Txs: [][]byte{raw}})
		if err != nil {
			t.Fatal(err)
		}
		want, err := p.ref.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: p.height, Time: tm})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []*app.App{p.a, p.ref} {
			if _, err := x.Commit(ctx, &abci.RequestCommit{}); err != nil {
				t.Fatal(err)
			}
		}
		r := res.TxResults[0]
		if r.Code == 0 {
			p.diverged = true // accepted: state moved on; start afresh next time
			return
		}
		if r.Log == "" {
			t.Fatalf("FinalizeBlock refusal %d without a message", r.Code)
		}
		if !bytes.Equal(res.AppHash, want.AppHash) {
			t.Fatalf("refused tx (code %d: %s) changed the app hash", r.Code, r.Log)
		}
	})
}

// FuzzProcessProposal: any list of transactions (up to four, repeats
// allowed) through ProcessProposal never panics, an accepted list holds
// only decodable, distinct transactions, and what PrepareProposal makes of
// the same list is always accepted.
func FuzzProcessProposal(f *testing.F) {
	w := world(f)
	seeds := fuzzSeeds(f, w)
	for i := range seeds {
		f.Add(seeds[i], seeds[(i+1)%len(seeds)], seeds[(i+2)%len(seeds)], uint8(i))
	}
	a := openApp(f, f.TempDir())
	f.Cleanup(func() { a.Close() })
	initWith(f, a, tweakedGenesis(f, w, nil))
	block(f, a, 1)
	f.Fuzz(func(t *testing.T, x, y, z []byte, pick uint8) {
		all := [][]byte{x, y, z, x}
		var txs [][]byte
		for i := range all {
			if pick&(1<<i) != 0 {
				txs = append(txs, all[i])
			}
		}
		tm := fixture.Now.Add(2 * time.Second)
		res, err := a.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: txs, Height: 2, Time: tm})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status == abci.ResponseProcessProposal_ACCEPT {
			seen := map[string]bool{}
			for i, raw := range txs {
				tx, err := chain.DecodeTx(raw, fixture.ChainID)
				if err != nil {
					t.Fatalf("accepted a proposal whose tx %d does not decode: %v", i, err)
				}
				// Whatever governance came before, a subject's signature
				// verifies with its certificate's own key.
				if der := chain.SubjectCertificate(tx); der != nil {
					c, err := x509.ParseCertificate(der)
					pub, ok := (*rsa.PublicKey)(nil), false
					if err == nil {
						pub, ok = c.PublicKey.(*rsa.PublicKey)
					}
					if !ok || jpki.VerifySignature(pub, tx.SignBytes, tx.Env.SubjectSignature) != nil {
						t.Fatalf("accepted a proposal whose tx %d has a subject signature that does not verify", i)
					}
				}
				if seen[string(raw)] {
					t.Fatalf("accepted a proposal with tx %d twice", i)
				}
				seen[string(raw)] = true
			}
		}
		prep, err := a.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: txs, MaxTxBytes: 1 << 20, Height: 2, Time: tm})
		if err != nil {
			t.Fatal(err)
		}
		again, err := a.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: prep.Txs, Height: 2, Time: tm})
		if err != nil {
			t.Fatal(err)
		}
		if again.Status != abci.ResponseProcessProposal_ACCEPT {
			t.Fatalf("our own proposal of %d txs was rejected", len(prep.Txs))
		}
	})
}

// FuzzGenesisAppState: the genesis app_state parser and validator never
// panic; a state they accept writes a chain state without panicking and
// survives a JSON round trip unchanged in meaning (it validates again).
func FuzzGenesisAppState(f *testing.F) {
	w := world(f)
	good, err := json.Marshal(w.AppState)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"params":{"governor_threshold":1},"members":[{"id":"a","pub_key":"AAAA","roles":["governor"]}]}`))
	f.Add([]byte(`{"unknown":1}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := genesis.ParseAppState(raw)
		if err != nil {
			return
		}
		if err := st.Validate(); err != nil {
			return
		}
		chain.InitState(fixture.NewMemStore(), fixture.ChainID, st.Chain())
		again, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		st2, err := genesis.ParseAppState(again)
		if err != nil {
			t.Fatalf("a valid state does not parse again: %v", err)
		}
		if err := st2.Validate(); err != nil {
			t.Fatalf("a valid state does not validate again: %v", err)
		}
	})
}
