package chain_test

import (
	"testing"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/internal/fixture"
)

// FuzzDecodeTx: the decoder and the rules never panic on any input, and a
// refusal always carries a code.
func FuzzDecodeTx(f *testing.F) {
	w, err := fixture.Get()
	if err != nil {
		f.Fatal(err)
	}
	for _, a := range []fixture.Attest{{}, {Holder: fixture.Signing}, {ChainID: "x"}} {
		raw, err := w.AttestTx(a)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x02, 0x52, 0x00})
	st := fixture.NewMemStore()
	chain.InitState(st, fixture.ChainID, w.AppState.Chain())
	m := chain.NewMachine(100)
	f.Fuzz(func(t *testing.T, raw []byte) {
		tx, err := chain.DecodeTx(raw, fixture.ChainID)
		if err != nil {
			if chain.CodeOf(err) == chain.CodeOK {
				t.Fatal("refusal without a code")
			}
			return
		}
		if _, err := m.Deliver(st, env, tx); err != nil && chain.CodeOf(err) == chain.CodeOK {
			t.Fatal("refusal without a code")
		}
	})
}
