package chain_test

import (
	"bytes"
	"testing"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/internal/fixture"
)

func TestChangeTrackerListsStatusWrites(t *testing.T) {
	st := fixture.NewMemStore()
	tr := chain.TrackChanges(st)
	s1, s2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	tr.Set(chain.ClaimKey(s2, "kyc"), []byte("b"))
	tr.Set(chain.ClaimKey(s1, "kyc"), []byte("a"))
	tr.Set(chain.ClaimKey(s2, "kyc"), []byte("c")) // twice: listed once
	tr.Set(chain.SubjectRevocationKey(s1), []byte("r"))
	tr.Delete(chain.ClaimKey(s1, "age"))
	tr.Set(chain.AnchorsKey(), []byte("anchors"))
	tr.Set(chain.MemberKey("m"), []byte("not a status key"))
	tr.Set(chain.LastBlockKey(), []byte("nor this"))
	keys := tr.Commit(7)
	want := [][]byte{chain.AnchorsKey(), chain.ClaimKey(s1, "age"), chain.ClaimKey(s1, "kyc"), chain.ClaimKey(s2, "kyc"), chain.SubjectRevocationKey(s1)}
	if len(keys) != len(want) {
		t.Fatalf("listed %x, want %x", keys, want)
	}
	for i := range want {
		if !bytes.Equal(keys[i], want[i]) {
			t.Fatalf("listed %x, want %x", keys, want)
		}
	}
	got, err := chain.Changes(st)
	if err != nil || got.Height != 7 || len(got.Keys) != len(want) {
		t.Fatalf("stored list = %+v, %v", got, err)
	}
	// The next block overwrites it, also when it changes nothing.
	tr.Commit(8)
	got, err = chain.Changes(st)
	if err != nil || got.Height != 8 || len(got.Keys) != 0 {
		t.Fatalf("empty block's list = %+v, %v", got, err)
	}
}

func TestDecodeChangesRefusesNonCanonical(t *testing.T) {
	k1, k2 := chain.ClaimKey(bytes.Repeat([]byte{1}, 32), "kyc"), chain.ClaimKey(bytes.Repeat([]byte{2}, 32), "kyc")
	good := chain.EncodeChanges(5, [][]byte{k1, k2})
	if _, err := chain.DecodeChanges(good); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":       nil,
		"version":     append([]byte{9}, good[1:]...),
		"unsorted":    chain.EncodeChanges(5, [][]byte{k2, k1}),
		"duplicate":   chain.EncodeChanges(5, [][]byte{k1, k1}),
		"height 0":    chain.EncodeChanges(0, nil),
		"not status":  chain.EncodeChanges(5, [][]byte{chain.MemberKey("x")}),
		"trailing":    append(bytes.Clone(good), 0),
		"truncated":   good[:len(good)-1],
		"long varint": {1, 0x85, 0x00, 0x00},
		"huge count":  {1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f},
	} {
		if _, err := chain.DecodeChanges(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// FuzzDecodeChanges: the change list decoder never panics, and what it
// accepts re-encodes to the same bytes (one encoding per list).
func FuzzDecodeChanges(f *testing.F) {
	k1, k2 := chain.ClaimKey(bytes.Repeat([]byte{1}, 32), "kyc"), chain.SubjectRevocationKey(bytes.Repeat([]byte{2}, 32))
	f.Add(chain.EncodeChanges(1, nil))
	f.Add(chain.EncodeChanges(12345, [][]byte{chain.AnchorsKey(), k1, k2}))
	f.Add([]byte{1, 1, 1, 1, 2})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := chain.DecodeChanges(b)
		if err != nil {
			return
		}
		if again := chain.EncodeChanges(c.Height, c.Keys); !bytes.Equal(again, b) {
			t.Fatalf("%x decodes to %+v, which encodes to %x", b, c, again)
		}
	})
}
