package chain_test

import (
	"testing"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/internal/fixture"
)

// readCounter counts the reads that reach a store.
type readCounter struct {
	chain.Store
	gets map[string]int
}

func (r *readCounter) Get(key []byte) []byte {
	r.gets[string(key)]++
	return r.Store.Get(key)
}

// TestTrackerWritesWithoutReading: a tracked transaction's writes reach the
// store as a direct delivery's do (the same state), and the tracker reads no
// key for them: the new attestation's key, which is not in the state, is
// never looked up (on a large state that read goes to the database).
func TestTrackerWritesWithoutReading(t *testing.T) {
	w := world(t)
	m := chain.NewMachine(100)
	raw, err := w.AttestTx(fixture.Attest{})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := chain.DecodeTx(raw, fixture.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	direct := newState(t, w, nil)
	if _, err := m.Deliver(direct, env, tx); err != nil {
		t.Fatal(err)
	}
	st := newState(t, w, nil)
	rc := &readCounter{Store: st, gets: map[string]int{}}
	if _, err := chain.TrackChanges(rc).Deliver(m, env, tx); err != nil {
		t.Fatal(err)
	}
	if stateDigest(st) != stateDigest(direct) {
		t.Fatal("the tracked delivery left another state than the direct one")
	}
	if n := rc.gets[string(chain.AttestationKey(chain.AttestationID(env.Height, env.TxIndex)))]; n != 0 {
		t.Errorf("the new attestation's key was read %d times from the store, want 0", n)
	}
}
