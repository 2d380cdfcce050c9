package app_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cosmos/iavl"
	iavldb "github.com/cosmos/iavl/db"
	ics23 "github.com/cosmos/ics23/go"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
)

var ctx = context.Background()

// world is the shared fixture world (fixture.MustGet).
var world = fixture.MustGet

func openApp(t testing.TB, dir string) *app.App {
	t.Helper()
	a, err := app.New(app.Options{DBDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// atBlock1 is the usual start of an app test: the fixture world and an app
// in a fresh directory, initialised from the fixture genesis, with an empty
// block 1 committed. The app is closed when tb ends.
func atBlock1(tb testing.TB) (*fixture.World, *app.App) {
	tb.Helper()
	w := world(tb)
	a := openApp(tb, tb.TempDir())
	tb.Cleanup(func() { a.Close() })
	initChain(tb, a, w)
	block(tb, a, 1)
	return w, a
}

func initChain(t testing.TB, a *app.App, w *fixture.World) {
	t.Helper()
	st, err := json.Marshal(w.AppState)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.InitChain(ctx, &abci.RequestInitChain{ChainId: fixture.ChainID, AppStateBytes: st, InitialHeight: 1, Time: fixture.Now}); err != nil {
		t.Fatal(err)
	}
}

// block finalizes and commits one block and returns its results and app hash.
func block(t testing.TB, a *app.App, height int64, txs ...[]byte) *abci.ResponseFinalizeBlock {
	t.Helper()
	res, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: height, Time: fixture.Now.Add(time.Duration(height) * time.Second), Txs: txs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	return res
}

func attestTxs(t testing.TB, w *fixture.World, holders ...string) [][]byte {
	t.Helper()
	var txs [][]byte
	for i, h := range holders {
		raw, err := w.AttestTx(fixture.Attest{Holder: h, Sequence: uint64(i), ClaimType: "kyc"})
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, raw)
	}
	return txs
}

// TestRestartKeepsState: a node that stops and starts again resumes at its
// last height with the same app hash and every committed attestation.
func TestRestartKeepsState(t *testing.T) {
	w := world(t)
	dir := t.TempDir()
	a := openApp(t, dir)
	initChain(t, a, w)
	res := block(t, a, 1, attestTxs(t, w, fixture.Alice, fixture.Bob)...)
	for i, r := range res.TxResults {
		if r.Code != 0 {
			t.Fatalf("tx %d refused: %d %s", i, r.Code, r.Log)
		}
	}
	block(t, a, 2)
	info, _ := a.Info(ctx, &abci.RequestInfo{})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	b := openApp(t, dir)
	defer b.Close()
	again, _ := b.Info(ctx, &abci.RequestInfo{})
	if again.LastBlockHeight != 2 || !bytes.Equal(again.LastBlockAppHash, info.LastBlockAppHash) {
		t.Fatalf("after restart: height %d hash %X, want 2 %X", again.LastBlockHeight, again.LastBlockAppHash, info.LastBlockAppHash)
	}
	q, _ := b.Query(ctx, &abci.RequestQuery{Path: chain.PathKey, Data: chain.ClaimKey(w.Subject(fixture.Bob), "kyc")})
	cs := new(chainpb.ClaimStatus)
	if err := proto.Unmarshal(q.Value, cs); err != nil || chain.StatusOf(cs, fixture.Now.Unix()).State != chain.StateValid {
		t.Fatalf("bob's status after restart: %v %v", cs, err)
	}
	// The sequence continued: the next transaction needs sequence 2.
	raw, _ := w.AttestTx(fixture.Attest{Holder: fixture.Alice, Sequence: 2, ClaimType: "fare"})
	if r, _ := b.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw}); r.Code != 0 {
		t.Fatalf("CheckTx after restart: %d %s", r.Code, r.Log)
	}
}

// TestSameBlocksSameHash: two nodes fed the same blocks agree on every app
// hash, whether or not CheckTx saw the transactions first (the cache changes
// no outcome).
func TestSameBlocksSameHash(t *testing.T) {
	w := world(t)
	a, b := openApp(t, t.TempDir()), openApp(t, t.TempDir())
	defer a.Close()
	defer b.Close()
	initChain(t, a, w)
	initChain(t, b, w)
	txs := attestTxs(t, w, fixture.Alice, fixture.Bob, fixture.Expired)
	for _, tx := range txs {
		a.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx})
	}
	ra, rb := block(t, a, 1, txs...), block(t, b, 1, txs...)
	if !bytes.Equal(ra.AppHash, rb.AppHash) {
		t.Fatalf("app hashes differ: %X vs %X", ra.AppHash, rb.AppHash)
	}
	if ra.TxResults[2].Code != uint32(chain.CodeCertExpired) || rb.TxResults[2].Code != uint32(chain.CodeCertExpired) {
		t.Fatalf("expired holder: codes %d/%d", ra.TxResults[2].Code, rb.TxResults[2].Code)
	}
}

// TestCheckTxSequences: the mempool admits a member's consecutive
// transactions and refuses a replay before any block.
func TestCheckTxSequences(t *testing.T) {
	w, a := atBlock1(t)
	txs := attestTxs(t, w, fixture.Alice, fixture.Bob)
	for i, tx := range txs {
		if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx}); r.Code != 0 {
			t.Fatalf("tx %d: %d %s", i, r.Code, r.Log)
		}
	}
	if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: txs[0]}); r.Code != uint32(chain.CodeBadSequence) {
		t.Fatalf("replay in mempool: code %d, want %d", r.Code, chain.CodeBadSequence)
	}
	if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: []byte("junk")}); r.Code != uint32(chain.CodeMalformedTx) || r.Log == "" {
		t.Fatalf("junk: %d %q", r.Code, r.Log)
	}
}

// TestCheckTxSeesEachCommit: the mempool's view remembers what it read
// from the committed version (app.memoStore), and a Commit gives it the new
// version: the member's sequence that CheckTx read before the block is not
// what it reads after.
func TestCheckTxSeesEachCommit(t *testing.T) {
	w, a := atBlock1(t)
	first := attestTxs(t, w, fixture.Alice)[0] // sequence 0
	if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: first}); r.Code != 0 {
		t.Fatalf("first: %d %s", r.Code, r.Log)
	}
	if res := block(t, a, 2, first); res.TxResults[0].Code != 0 {
		t.Fatalf("block 2: %d %s", res.TxResults[0].Code, res.TxResults[0].Log)
	}
	stale, err := w.AttestTx(fixture.Attest{Holder: fixture.Bob, Sequence: 0, ClaimType: "kyc"})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: stale}); r.Code != uint32(chain.CodeBadSequence) {
		t.Fatalf("sequence 0 after it committed: code %d %s, want %d", r.Code, r.Log, chain.CodeBadSequence)
	}
	next, err := w.AttestTx(fixture.Attest{Holder: fixture.Bob, Sequence: 1, ClaimType: "kyc"})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: next}); r.Code != 0 {
		t.Fatalf("sequence 1 after the block: %d %s", r.Code, r.Log)
	}
}

// TestProofs: a status answer proves against the app hash, both when the
// claim exists and when it does not.
func TestProofs(t *testing.T) {
	w := world(t)
	a := openApp(t, t.TempDir())
	defer a.Close()
	initChain(t, a, w)
	block(t, a, 1, attestTxs(t, w, fixture.Alice)...)
	info, _ := a.Info(ctx, &abci.RequestInfo{})
	root := info.LastBlockAppHash
	for _, tc := range []struct {
		holder string
		exists bool
	}{{fixture.Alice, true}, {fixture.Bob, false}} {
		key := chain.ClaimKey(w.Subject(tc.holder), "kyc")
		q, _ := a.Query(ctx, &abci.RequestQuery{Path: chain.PathKey, Data: key, Prove: true})
		if q.Code != 0 || q.ProofOps == nil || len(q.ProofOps.Ops) != 1 || q.ProofOps.Ops[0].Type != chain.ProofOpIAVL {
			t.Fatalf("%s: query %+v", tc.holder, q)
		}
		var p ics23.CommitmentProof
		if err := p.Unmarshal(q.ProofOps.Ops[0].Data); err != nil {
			t.Fatal(err)
		}
		if tc.exists {
			if !ics23.VerifyMembership(ics23.IavlSpec, root, &p, key, q.Value) {
				t.Fatalf("%s: membership proof does not verify", tc.holder)
			}
			if ics23.VerifyMembership(ics23.IavlSpec, root, &p, key, append(bytes.Clone(q.Value), 0)) {
				t.Fatal("a proof verifies a value that was changed")
			}
		} else if len(q.Value) != 0 || !ics23.VerifyNonMembership(ics23.IavlSpec, root, &p, key) {
			t.Fatalf("%s: non-membership proof does not verify", tc.holder)
		}
	}
}

// TestNoCertificateInState walks every key and value of the IAVL tree after
// attestations and proves that no certificate, serial number, name or other
// personal data is stored: state holds identity commitments only. The chain
// here even allows signing certificates (which carry name, address, birth
// date and sex), and one is attested: its personal data stays out of state
// too.
func TestNoCertificateInState(t *testing.T) {
	w := world(t)
	dir := t.TempDir()
	a := openApp(t, dir)
	st := *w.AppState
	st.Params.AllowSigningCertificates = true
	raw, _ := json.Marshal(&st)
	if _, err := a.InitChain(ctx, &abci.RequestInitChain{ChainId: fixture.ChainID, AppStateBytes: raw, InitialHeight: 1, Time: fixture.Now}); err != nil {
		t.Fatal(err)
	}
	res := block(t, a, 1, attestTxs(t, w, fixture.Alice, fixture.Bob, fixture.Signing)...)
	for i, r := range res.TxResults {
		if r.Code != 0 {
			t.Fatalf("tx %d refused: %s", i, r.Log)
		}
	}
	a.Close()

	db, err := iavldb.NewGoLevelDB("state", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tree := iavl.NewMutableTree(db, 0, false, iavl.NewNopLogger())
	if _, err := tree.Load(); err != nil {
		t.Fatal(err)
	}
	forbidden := [][]byte{[]byte("テスト"), []byte("東京都"), []byte("419900102")} // the signing certificate's personal data
	for _, name := range []string{fixture.Alice, fixture.Bob, fixture.Signing} {
		h := w.Holders[name]
		forbidden = append(forbidden, h.CertDER, h.Cert.SerialNumber.Bytes(), h.Cert.RawSubject, h.Cert.RawSubjectPublicKeyInfo, []byte(h.Cert.Subject.CommonName))
		// Any 32-byte window of the certificate (signature, key, ...), but
		// for the parts it shares with the CA certificate (the issuer's name),
		// which is a trust anchor in state by design.
		for i := 0; i+32 <= len(h.CertDER); i += 16 {
			win := h.CertDER[i : i+32]
			if !bytes.Contains(w.AuthCA.CertDER, win) && !bytes.Contains(w.SignCA.CertDER, win) {
				forbidden = append(forbidden, win)
			}
		}
	}
	n := 0
	_, err = tree.Iterate(func(k, v []byte) bool {
		n++
		for _, f := range forbidden {
			if bytes.Contains(k, f) || bytes.Contains(v, f) {
				t.Errorf("key %x holds certificate material %x", k, f[:min(len(f), 8)])
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("state is empty")
	}
	// The commitment is there instead.
	s := w.Subject(fixture.Alice)
	if v, _ := tree.Get(chain.ClaimKey(s, "kyc")); v == nil {
		t.Fatal("alice's claim is not stored under her commitment")
	}
}

// TestRangePaging: a long range continues after the last key of a page.
func TestRangePaging(t *testing.T) {
	_, a := atBlock1(t)
	list := func(path string) []string {
		q, _ := a.Query(ctx, &abci.RequestQuery{Path: path, Data: chain.MembersPrefix()})
		if q.Code != 0 {
			t.Fatalf("%s: %d %s", path, q.Code, q.Log)
		}
		var r chainpb.Range
		if err := proto.Unmarshal(q.Value, &r); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, kv := range r.Pairs {
			ids = append(ids, string(kv.Key[1:]))
		}
		return ids
	}
	all := list(chain.PathRange)
	if len(all) != 3 {
		t.Fatalf("members %v", all)
	}
	rest := list(chain.PathRange + "/after/" + hex.EncodeToString(chain.MemberKey(all[0])))
	if len(rest) != 2 || rest[0] != all[1] || rest[1] != all[2] {
		t.Fatalf("after %s: %v, want %v", all[0], rest, all[1:])
	}
	q, _ := a.Query(ctx, &abci.RequestQuery{Path: chain.PathRange + "/after/zz", Data: chain.MembersPrefix()})
	if q.Code == 0 {
		t.Fatal("a bad continuation key was accepted")
	}
}

// TestPrepareProposalOrdersSequences: a proposer whose mempool holds a
// member's transactions out of order (gossip can do that) proposes them in
// sequence order, and leaves out what cannot apply.
func TestPrepareProposalOrdersSequences(t *testing.T) {
	w, a := atBlock1(t)
	txs := attestTxs(t, w, fixture.Alice, fixture.Bob, fixture.Expired, fixture.Alice)
	// txs[3] is sequence 3 but alice's "kyc" again: valid. txs[2] (expired
	// card) can never apply, so txs[3] waits for a sequence 2 that never
	// comes and stays out too.
	skipped, _ := w.AttestTx(fixture.Attest{Holder: fixture.Bob, Sequence: 9})
	in := [][]byte{txs[1], []byte("junk"), txs[0], txs[3], txs[2], skipped}
	res, err := a.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: in, MaxTxBytes: 1 << 20, Height: 2, Time: fixture.Now.Add(2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Txs) != 2 || !bytes.Equal(res.Txs[0], txs[0]) || !bytes.Equal(res.Txs[1], txs[1]) {
		t.Fatalf("proposal has %d txs, want alice's (seq 0) then bob's (seq 1)", len(res.Txs))
	}
	fb := block(t, a, 2, res.Txs...)
	for i, r := range fb.TxResults {
		if r.Code != 0 {
			t.Fatalf("tx %d of the proposal refused: %d %s", i, r.Code, r.Log)
		}
	}
}
