package chain

import (
	"bytes"
	"slices"
)

// pendingWrites are one transaction's writes, held by a ChangeTracker
// until the transaction is accepted. Keeping them aside, instead of
// writing through and reading every key's old value for an undo log,
// spares a state read per write: on a large state, the read of a key that
// does not exist yet (every new attestation's) reaches the database.
type pendingWrites struct {
	ops  []pendingOp
	last map[string][]byte // key -> latest value (nil: deleted); lookups only
}

type pendingOp struct {
	key, value []byte // value nil: delete
}

func (p *pendingWrites) reset() {
	p.ops = p.ops[:0]
	if len(p.last) > 0 || p.last == nil {
		p.last = map[string][]byte{}
	}
}

func (p *pendingWrites) set(key, value []byte) {
	key = bytes.Clone(key)
	p.ops = append(p.ops, pendingOp{key: key, value: value})
	p.last[string(key)] = value
}

func (p *pendingWrites) get(key []byte) ([]byte, bool) {
	v, ok := p.last[string(key)]
	return v, ok
}

// replay writes the operations on st in the order they were made: the IAVL
// tree's shape, and so the app hash, depends on the order of its writes.
func (p *pendingWrites) replay(st Store) {
	for _, op := range p.ops {
		if op.value == nil {
			st.Delete(op.key)
		} else {
			st.Set(op.key, op.value)
		}
	}
	p.reset()
}

// mergeIterate iterates st's range [start, end) with the writes of over
// in it: a written key shows its new value, a deleted one is skipped. The
// keys of over are sorted first; nothing depends on the map's order.
func mergeIterate(st Store, over map[string][]byte, start, end []byte, fn func(k, v []byte) bool) {
	var keys []string
	for k := range over {
		kb := []byte(k)
		if bytes.Compare(kb, start) >= 0 && (end == nil || bytes.Compare(kb, end) < 0) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	i := 0
	emit := func(k string) bool {
		if v := over[k]; v != nil {
			return fn([]byte(k), v)
		}
		return true
	}
	stopped := false
	st.Iterate(start, end, func(k, v []byte) bool {
		for i < len(keys) && keys[i] < string(k) {
			if !emit(keys[i]) {
				stopped = true
				return false
			}
			i++
		}
		if i < len(keys) && keys[i] == string(k) {
			i++
			if !emit(string(k)) {
				stopped = true
				return false
			}
			return true
		}
		if !fn(k, v) {
			stopped = true
			return false
		}
		return true
	})
	for ; !stopped && i < len(keys); i++ {
		if !emit(keys[i]) {
			return
		}
	}
}
