package chain_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
)

// subjects returns n distinct made-up commitments, the i-th batch's.
func subjects(batch, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		var b [8]byte
		binary.BigEndian.PutUint32(b[:], uint32(batch))
		binary.BigEndian.PutUint32(b[4:], uint32(i))
		s := sha256.Sum256(b[:])
		out[i] = s[:]
	}
	return out
}

// stateDigest hashes every key and value of st.
func stateDigest(st chain.Store) [32]byte {
	h := sha256.New()
	st.Iterate(nil, nil, func(k, v []byte) bool {
		binary.Write(h, binary.BigEndian, uint32(len(k)))
		h.Write(k)
		binary.Write(h, binary.BigEndian, uint32(len(v)))
		h.Write(v)
		return true
	})
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// TestBlockChangesCap: a block's transactions that would take its change
// list past the limits are refused with CodeBlockChangesFull and write
// nothing, so every block's feed update stays encodable; the same
// transaction applies in the next block.
func TestBlockChangesCap(t *testing.T) {
	w := world(t)
	st := newState(t, w, nil)
	m := chain.NewMachine(100)
	tr := chain.TrackChanges(st)
	deliverTr := func(raw []byte) error {
		t.Helper()
		tx, err := chain.DecodeTx(raw, fixture.ChainID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tr.Deliver(m, env, tx)
		return err
	}
	const per = 256 // the genesis limit per transaction
	var accepted uint64
	for ; ; accepted++ {
		raw := sign(t, w, revokeSubjects(accepted, env.Time-60, subjects(int(accepted), per)...), fixture.Reader, "")
		before := stateDigest(st)
		err := deliverTr(raw)
		if err == nil {
			continue
		}
		if chain.CodeOf(err) != chain.CodeBlockChangesFull || !strings.Contains(err.Error(), "later block") {
			t.Fatalf("tx %d refused with %d %v, want CodeBlockChangesFull", accepted, chain.CodeOf(err), err)
		}
		if stateDigest(st) != before {
			t.Fatal("the refused transaction wrote to the state")
		}
		if chain.GetSubjectRevocation(st, subjects(int(accepted), per)[0]) != nil {
			t.Fatal("the refused transaction revoked a subject")
		}
		if got := chain.GetMember(st, fixture.Reader).Sequence; got != accepted {
			t.Fatalf("reader's sequence %d after the refusal, want %d", got, accepted)
		}
		// The next block takes it.
		keys := tr.Commit(env.Height)
		if len(keys) != int(accepted)*per || len(keys) > chain.MaxBlockStatusChanges {
			t.Fatalf("block listed %d keys, want %d", len(keys), int(accepted)*per)
		}
		list := st.Get(chain.ChangesKey())
		if len(list) > chain.MaxBlockChangesBytes {
			t.Fatalf("change list is %d bytes, over %d", len(list), chain.MaxBlockChangesBytes)
		}
		if err := deliverTr(raw); err != nil {
			t.Fatalf("the next block refused it: %v", err)
		}
		break
	}
	if accepted == 0 || accepted > 10 {
		t.Fatalf("%d transactions fit a block", accepted)
	}
}

// TestBlockChangesCapAlone: a transaction that changes more than any block
// may is refused even first in a block, with a message that says to split
// it.
func TestBlockChangesCapAlone(t *testing.T) {
	w := world(t)
	st := newState(t, w, nil)
	m := chain.NewMachine(100)
	// 256 subjects with 8 claims each: 9 status keys per commitment, over
	// 2,300 in all.
	subs := subjects(0, 256)
	for _, s := range subs {
		for c := 0; c < 8; c++ {
			ct := fmt.Sprintf("claim-%d", c)
			v, err := proto.Marshal(&chainpb.ClaimStatus{ClaimType: ct})
			if err != nil {
				t.Fatal(err)
			}
			st.Set(chain.ClaimKey(s, ct), v)
		}
	}
	tx, err := chain.DecodeTx(sign(t, w, revokeSubjects(0, env.Time-60, subs...), fixture.Reader, ""), fixture.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	before := stateDigest(st)
	_, err = chain.TrackChanges(st).Deliver(m, env, tx)
	if chain.CodeOf(err) != chain.CodeBlockChangesFull || !strings.Contains(err.Error(), "split it") {
		t.Fatalf("refused with %d %v, want CodeBlockChangesFull (split it)", chain.CodeOf(err), err)
	}
	if stateDigest(st) != before {
		t.Fatal("the refused transaction wrote to the state")
	}
}

// TestStatusChangeCostBoundsTheChanges: what a proposer charges a
// transaction is at least what it writes to the change list.
func TestStatusChangeCostBoundsTheChanges(t *testing.T) {
	w := world(t)
	st, m, id := attested(t, w)
	alice, bob := w.Subject(fixture.Alice), w.Subject(fixture.Bob)
	again, err := w.AttestTx(fixture.Attest{Sequence: 1}) // a second entry in the attested claim
	if err != nil {
		t.Fatal(err)
	}
	unknown := func(*chain.Tx) ([32]byte, bool) { return [32]byte{}, false }
	if tx, err := chain.DecodeTx(again, fixture.ChainID); err != nil {
		t.Fatal(err)
	} else if c, ok := m.NewVerifier(st).SubjectCommitment(tx); !ok || !bytes.Equal(c[:], alice) {
		t.Fatalf("SubjectCommitment: %x %v, want Alice's %x", c, ok, alice)
	}
	for _, raw := range [][]byte{
		again,
		sign(t, w, revokeBody(id, 2, nil), fixture.Operator, ""),
		sign(t, w, revokeSubjects(0, env.Time-60, alice, bob), fixture.Reader, ""),
	} {
		tx, err := chain.DecodeTx(raw, fixture.ChainID)
		if err != nil {
			t.Fatal(err)
		}
		cost := chain.StatusChangeCost(st, tx)
		// A proposer's CostBound: the subject from the certificate check's
		// cache, or parsed when that does not know it: the same bound.
		for name, subject := range map[string]func(*chain.Tx) ([32]byte, bool){"verifier": m.NewVerifier(st).SubjectCommitment, "unknown": unknown} {
			if c := chain.NewCostBound(st, subject).Of(tx); c != cost {
				t.Fatalf("CostBound with the %s subject: %+v, StatusChangeCost %+v", name, c, cost)
			}
		}
		tr := chain.TrackChanges(st)
		if _, err := tr.Deliver(m, env, tx); err != nil {
			t.Fatal(err)
		}
		keys := tr.Changed()
		n, update := 0, 0
		for _, k := range keys {
			n += 1 + len(k)
			update += chain.EntryProofAllowance + 2*len(k) + len(st.Get(k))
		}
		if len(keys) == 0 || cost.Keys < len(keys) || cost.Bytes < n || cost.Update < update {
			t.Fatalf("cost %+v for %d keys of %d bytes, %d of update", cost, len(keys), n, update)
		}
	}
}

// TestBlockUpdateBytesCap: records with big values (many attestations with
// long revocation reasons) fill a block's feed update before its key count
// does; the transaction that would take it past MaxBlockUpdateBytes is
// refused.
func TestBlockUpdateBytesCap(t *testing.T) {
	w := world(t)
	st := newState(t, w, nil)
	m := chain.NewMachine(100)
	big := &chainpb.ClaimStatus{ClaimType: "kyc"}
	for i := 0; i < 60; i++ {
		big.Entries = append(big.Entries, &chainpb.StatusEntry{AttestationId: make([]byte, 12), Attester: "operator",
			Revocation: &chainpb.Revocation{Reason: strings.Repeat("r", 256), By: "operator"}})
	}
	for b := 0; b < 3; b++ {
		for _, s := range subjects(b, 256) {
			big.Subject = s
			v, err := proto.Marshal(big)
			if err != nil {
				t.Fatal(err)
			}
			st.Set(chain.ClaimKey(s, "kyc"), v)
		}
	}
	tr := chain.TrackChanges(st)
	var refusedAt = -1
	for b := 0; b < 3; b++ {
		tx, err := chain.DecodeTx(sign(t, w, revokeSubjects(uint64(b), env.Time-60, subjects(b, 256)...), fixture.Reader, ""), fixture.ChainID)
		if err != nil {
			t.Fatal(err)
		}
		before := stateDigest(st)
		if _, err := tr.Deliver(m, env, tx); err != nil {
			if chain.CodeOf(err) != chain.CodeBlockChangesFull || !strings.Contains(err.Error(), "feed update") {
				t.Fatalf("tx %d: %v", b, err)
			}
			if stateDigest(st) != before {
				t.Fatal("the refused transaction wrote to the state")
			}
			refusedAt = b
			break
		}
	}
	if refusedAt != 1 {
		t.Fatalf("refused at tx %d, want 1 (each changes over 4 MiB of records)", refusedAt)
	}
	keys := tr.Commit(env.Height)
	total := 0
	for _, k := range keys {
		total += chain.EntryProofAllowance + 2*len(k) + len(st.Get(k))
	}
	if total > chain.MaxBlockUpdateBytes || len(keys) != 512 {
		t.Fatalf("block changed %d keys, %d bytes of entries", len(keys), total)
	}
}
