package chain_test

import (
	"errors"
	"testing"

	"github.com/cosmos/iavl"
	iavldb "github.com/cosmos/iavl/db"

	"github.com/idledger/idledger/chain"
)

// provenTree commits a small tree and returns its root and the encoded
// proofs of a present key ("b") and an absent one ("c").
func provenTree(t testing.TB) (root, present, absent []byte) {
	t.Helper()
	tree := iavl.NewMutableTree(iavldb.NewMemDB(), 0, true, iavl.NewNopLogger())
	for _, k := range []string{"a", "b", "d"} {
		if _, err := tree.Set([]byte(k), []byte("value "+k)); err != nil {
			t.Fatal(err)
		}
	}
	root, _, err := tree.SaveVersion()
	if err != nil {
		t.Fatal(err)
	}
	im, err := tree.GetImmutable(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"b", "c"} {
		p, err := im.GetProof([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if k == "b" {
			present = b
		} else {
			absent = b
		}
	}
	return root, present, absent
}

func TestCheckProof(t *testing.T) {
	root, present, absent := provenTree(t)
	other := append([]byte(nil), root...)
	other[0] ^= 1
	cases := []struct {
		name       string
		proof      []byte
		key, value string
		root       []byte
		ok         bool
	}{
		{"present key and its value", present, "b", "value b", root, true},
		{"absent key", absent, "c", "", root, true},
		{"present key, other value", present, "b", "value x", root, false},
		{"present key claimed absent", present, "b", "", root, false},
		{"absent key claimed present", absent, "c", "value c", root, false},
		{"proof of another key", present, "a", "value a", root, false},
		{"another root", present, "b", "value b", other, false},
		{"no root", present, "b", "value b", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := chain.DecodeProof(tc.proof)
			if err != nil {
				t.Fatal(err)
			}
			err = chain.CheckProof(p, []byte(tc.key), []byte(tc.value), tc.root)
			if tc.ok {
				if err != nil {
					t.Fatalf("CheckProof: %v", err)
				}
				return
			}
			var pe *chain.ProofError
			if !errors.As(err, &pe) {
				t.Fatalf("CheckProof = %v, want a *chain.ProofError", err)
			}
		})
	}
}

func TestDecodeProofOp(t *testing.T) {
	_, present, _ := provenTree(t)
	if _, err := chain.DecodeProofOp([]byte("b"), chain.ProofOpIAVL, []byte("b"), present); err != nil {
		t.Fatalf("a good op: %v", err)
	}
	for name, op := range map[string]struct {
		typ       string
		key, data []byte
	}{
		"other type":  {"ics23:simple", []byte("b"), present},
		"other key":   {chain.ProofOpIAVL, []byte("a"), present},
		"not a proof": {chain.ProofOpIAVL, []byte("b"), []byte{0xff, 0xff}},
	} {
		var pe *chain.ProofError
		if _, err := chain.DecodeProofOp([]byte("b"), op.typ, op.key, op.data); !errors.As(err, &pe) {
			t.Errorf("%s: err = %v, want a *chain.ProofError", name, err)
		}
	}
}

// FuzzCheckProof: any bytes as a proof either decode and check, or are
// refused with a ProofError; never a panic, never a forged membership.
func FuzzCheckProof(f *testing.F) {
	root, present, absent := provenTree(f)
	f.Add(present, []byte("b"), []byte("value b"))
	f.Add(absent, []byte("c"), []byte{})
	f.Add([]byte{}, []byte("b"), []byte("value b"))
	f.Fuzz(func(t *testing.T, data, key, value []byte) {
		p, err := chain.DecodeProof(data)
		if err != nil {
			var pe *chain.ProofError
			if !errors.As(err, &pe) {
				t.Fatalf("DecodeProof error %v is not a ProofError", err)
			}
			return
		}
		if err := chain.CheckProof(p, key, value, root); err == nil && len(value) > 0 {
			if string(key) != "a" && string(key) != "b" && string(key) != "d" {
				t.Fatalf("proved key %q that the tree does not hold", key)
			}
			if string(value) != "value "+string(key) {
				t.Fatalf("proved value %q for key %q", value, key)
			}
		}
	})
}
