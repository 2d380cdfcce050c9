package app_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/internal/fixture"
)

// tweakedGenesis copies the fixture's app state (deeply enough to edit
// members) and lets edit change it.
func tweakedGenesis(t testing.TB, w *fixture.World, edit func(*genesis.AppState)) []byte {
	t.Helper()
	st := *w.AppState
	st.Members = make([]genesis.Member, len(w.AppState.Members))
	for i, m := range w.AppState.Members {
		m.Roles = append([]string(nil), m.Roles...)
		st.Members[i] = m
	}
	if edit != nil {
		edit(&st)
	}
	if err := st.Validate(); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(&st)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func initWith(t testing.TB, a *app.App, appState []byte, vals ...abci.ValidatorUpdate) {
	t.Helper()
	if _, err := a.InitChain(ctx, &abci.RequestInitChain{ChainId: fixture.ChainID, AppStateBytes: appState, InitialHeight: 1, Time: fixture.Now, Validators: vals}); err != nil {
		t.Fatal(err)
	}
}

func signTx(t testing.TB, w *fixture.World, body *chainpb.TxBody, member, holder string) []byte {
	t.Helper()
	raw, err := w.Sign(body, member, holder)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func proposeTx(t testing.TB, w *fixture.World, member string, seq uint64, a *chainpb.GovAction) []byte {
	return signTx(t, w, &chainpb.TxBody{Sequence: seq, Msg: &chainpb.TxBody_Propose{Propose: &chainpb.Propose{Action: a}}}, member, "")
}

func key(name string) ed25519.PublicKey {
	seed := sha256.Sum256([]byte(name))
	return ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
}

func nodeID(b byte) string { return string(bytes.Repeat([]byte{'a' + b%6}, 40)) }

// TestWarmAndColdCachesAgree executes the same blocks on an app that saw
// the transactions in CheckTx first (warm caches) and on one that did not
// (a node that syncs, or restores from its block store), and compares the
// app hashes after every block. The governor threshold is 1, so a proposal
// executes inside CheckTx; the second add_member of "bank" (roles and node
// IDs unsorted) fails in the block because the first landed before it. The
// failed proposal must be written the same on both nodes.
func TestWarmAndColdCachesAgree(t *testing.T) {
	w := world(t)
	gen := tweakedGenesis(t, w, func(s *genesis.AppState) {
		s.Params.GovernorThreshold = 1
		for i := range s.Members {
			if s.Members[i].ID == fixture.Reader {
				s.Members[i].Roles = append(s.Members[i].Roles, chain.RoleGovernor)
			}
		}
	})
	warm, cold := openApp(t, t.TempDir()), openApp(t, t.TempDir())
	defer warm.Close()
	defer cold.Close()
	initWith(t, warm, gen)
	initWith(t, cold, gen)
	addBank := func(k string, roles []string, nodes []string) *chainpb.GovAction {
		return &chainpb.GovAction{Action: &chainpb.GovAction_AddMember{AddMember: &chainpb.Member{
			Id: "bank", PubKey: key(k), Roles: roles, NodeIds: nodes}}}
	}
	first := proposeTx(t, w, fixture.Reader, 0, addBank("bank 1", []string{chain.RoleAttester}, nil))
	second := proposeTx(t, w, fixture.Operator, 0, addBank("bank 2",
		[]string{chain.RoleValidator, chain.RoleRevoker, chain.RoleAttester}, []string{nodeID(5), nodeID(1), nodeID(3)}))
	attests := attestTxs(t, w, fixture.Alice, fixture.Bob, fixture.Expired)
	for i := range attests { // the operator's sequence 0 went to the proposal
		attests[i], _ = w.AttestTx(fixture.Attest{Holder: []string{fixture.Alice, fixture.Bob, fixture.Expired}[i], Sequence: uint64(i + 1)})
	}
	blocks := [][][]byte{
		nil,
		{first, second},
		attests,
		{second, first}, // replays: refused alike
	}
	for h, txs := range blocks {
		height := int64(h + 1)
		// The warm node's mempool admitted the second proposal (and the
		// attestations) before the block; it executed there.
		if height == 2 {
			if r, _ := warm.CheckTx(ctx, &abci.RequestCheckTx{Tx: second}); r.Code != 0 {
				t.Fatalf("CheckTx of the second proposal: %d %s", r.Code, r.Log)
			}
		}
		if height == 3 {
			for _, tx := range txs {
				warm.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx})
			}
		}
		rw, rc := block(t, warm, height, txs...), block(t, cold, height, txs...)
		if !bytes.Equal(rw.AppHash, rc.AppHash) {
			t.Fatalf("block %d: warm node's app hash %X, cold node's %X", height, rw.AppHash, rc.AppHash)
		}
		for i := range rw.TxResults {
			if rw.TxResults[i].Code != rc.TxResults[i].Code {
				t.Fatalf("block %d tx %d: code %d on the warm node, %d on the cold one", height, i, rw.TxResults[i].Code, rc.TxResults[i].Code)
			}
		}
	}
	q, _ := cold.Query(ctx, &abci.RequestQuery{Path: chain.PathKey, Data: chain.ProposalKey(2)})
	p := new(chainpb.Proposal)
	if err := proto.Unmarshal(q.Value, p); err != nil || p.Status != chain.ProposalFailed {
		t.Fatalf("second proposal: %v %v", p, err)
	}
	if got := p.Action.GetAddMember().Roles; got[0] != chain.RoleValidator {
		t.Fatalf("the failed proposal's action was changed: roles %v", got)
	}
}

// TestSetRolesWithoutValidatorUpdatesCometBFT: set_roles that takes the
// validator role away hands CometBFT a power-0 update for the member's
// validator in the block's FinalizeBlock answer.
func TestSetRolesWithoutValidatorUpdatesCometBFT(t *testing.T) {
	w := world(t)
	opKey, atKey := key("validator operator"), key("validator attester")
	gen := tweakedGenesis(t, w, func(s *genesis.AppState) {
		for i := range s.Members {
			switch s.Members[i].ID {
			case fixture.Operator:
				s.Members[i].ValidatorKeys = [][]byte{opKey}
			case fixture.Attester:
				s.Members[i].Roles = []string{chain.RoleAttester, chain.RoleValidator}
				s.Members[i].ValidatorKeys = [][]byte{atKey}
			}
		}
	})
	a := openApp(t, t.TempDir())
	defer a.Close()
	initWith(t, a, gen, abci.Ed25519ValidatorUpdate(opKey, 10), abci.Ed25519ValidatorUpdate(atKey, 10))
	block(t, a, 1)
	set := &chainpb.GovAction{Action: &chainpb.GovAction_SetRoles{SetRoles: &chainpb.SetRoles{Member: fixture.Attester, Roles: []string{chain.RoleAttester}}}}
	res := block(t, a, 2, proposeTx(t, w, fixture.Operator, 0, set))
	if res.TxResults[0].Code != 0 {
		t.Fatalf("propose: %d %s", res.TxResults[0].Code, res.TxResults[0].Log)
	}
	if len(res.ValidatorUpdates) != 1 || !bytes.Equal(res.ValidatorUpdates[0].PubKey.GetEd25519(), atKey) || res.ValidatorUpdates[0].Power != 0 {
		t.Fatalf("validator updates %v, want the attester's validator at power 0", res.ValidatorUpdates)
	}
}
