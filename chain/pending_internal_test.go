package chain

import (
	"bytes"
	"slices"
	"testing"
)

type mapStore map[string][]byte

func (s mapStore) Get(k []byte) []byte { return s[string(k)] }
func (s mapStore) Set(k, v []byte)     { s[string(k)] = bytes.Clone(v) }
func (s mapStore) Delete(k []byte)     { delete(s, string(k)) }
func (s mapStore) Iterate(start, end []byte, fn func(k, v []byte) bool) {
	var keys []string
	for k := range s {
		if k >= string(start) && (end == nil || k < string(end)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !fn([]byte(k), s[k]) {
			return
		}
	}
}

// Within a transaction the tracker's reads and ranges see the
// transaction's writes and deletes; they reach the store only when it is
// accepted, in the order made, and not at all when it is refused.
func TestTrackerPendingWrites(t *testing.T) {
	st := mapStore{"a": []byte("1"), "c": []byte("3"), "e": []byte("5")}
	tr := TrackChanges(st)
	tr.inTx = true
	tr.pending.reset()
	tr.Set([]byte("b"), []byte("2"))
	tr.Delete([]byte("c"))
	tr.Set([]byte("e"), []byte("55"))
	tr.Set([]byte("f"), []byte{})
	if got := tr.Get([]byte("c")); got != nil {
		t.Errorf("deleted c reads %q", got)
	}
	if got := string(tr.Get([]byte("e"))); got != "55" {
		t.Errorf("e reads %q, want 55", got)
	}
	if _, ok := st["b"]; ok {
		t.Error("a pending write reached the store")
	}
	var seen []string
	tr.Iterate([]byte("a"), nil, func(k, v []byte) bool {
		seen = append(seen, string(k)+"="+string(v))
		return true
	})
	if want := []string{"a=1", "b=2", "e=55", "f="}; !slices.Equal(seen, want) {
		t.Errorf("range %v, want %v", seen, want)
	}
	seen = nil
	tr.Iterate([]byte("b"), []byte("f"), func(k, v []byte) bool {
		seen = append(seen, string(k))
		return len(seen) < 1
	})
	if want := []string{"b"}; !slices.Equal(seen, want) {
		t.Errorf("stopped range %v, want %v", seen, want)
	}
	tr.inTx = false
	tr.pending.replay(tr.Store)
	if string(st["b"]) != "2" || st["c"] != nil || string(st["e"]) != "55" || st["f"] == nil {
		t.Errorf("after replay the store is %q", st)
	}

	tr.inTx = true
	tr.pending.reset()
	tr.Set([]byte("z"), []byte("26"))
	tr.rollback(0, tr.listBytes, tr.updateBytes)
	tr.inTx = false
	if _, ok := st["z"]; ok || tr.Get([]byte("z")) != nil {
		t.Error("a dropped write reached the store")
	}
}
