package app

import (
	"testing"

	"github.com/idledger/idledger/internal/fixture"
)

// TestOverlayIterate: the CheckTx view merges its writes into the committed
// range in key order, hides deletions, and stops when asked.
func TestOverlayIterate(t *testing.T) {
	base := fixture.NewMemStore()
	for _, k := range []string{"a", "c", "e", "g"} {
		base.Set([]byte(k), []byte("base-"+k))
	}
	o := newOverlay(base)
	o.Set([]byte("b"), []byte("new-b"))
	o.Set([]byte("c"), []byte("new-c"))
	o.Delete([]byte("e"))
	o.Set([]byte("h"), []byte("new-h"))
	o.Set([]byte("z"), []byte("outside"))

	var got []string
	o.Iterate([]byte("a"), []byte("i"), func(k, v []byte) bool {
		got = append(got, string(k)+"="+string(v))
		return true
	})
	want := []string{"a=base-a", "b=new-b", "c=new-c", "g=base-g", "h=new-h"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if v := o.Get([]byte("e")); v != nil {
		t.Fatalf("deleted key reads %q", v)
	}
	n := 0
	o.Iterate([]byte("a"), nil, func(k, v []byte) bool { n++; return n < 2 })
	if n != 2 {
		t.Fatalf("iteration went on after stop: %d calls", n)
	}
}
