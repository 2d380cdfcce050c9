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

// writeAndUndo makes on st exactly the writes a write-through tracker made
// for a transaction refused after it ran (CodeBlockChangesFull): each
// operation in order, then each undone, newest first, to the value it
// replaced. IAVL gives every written node a new version, so an undone
// write still changes the app hash; releases before the pending writes
// wrote through, and a chain's nodes must agree with every block those
// releases committed (app.TestRefusedTxAppHashAsReleased). It is rare (a
// block packed past its change budget), so the reads it needs are paid
// only here.
func (p *pendingWrites) writeAndUndo(st Store) {
	type undo struct{ key, old []byte }
	undos := make([]undo, len(p.ops))
	for i, op := range p.ops {
		undos[i] = undo{op.key, bytes.Clone(st.Get(op.key))}
		if op.value == nil {
			st.Delete(op.key)
		} else {
			st.Set(op.key, op.value)
		}
	}
	for i := len(undos) - 1; i >= 0; i-- {
		if u := undos[i]; u.old != nil {
			st.Set(u.key, u.old)
		} else {
			st.Delete(u.key)
		}
	}
	p.reset()
}

// MergeIterate iterates st's range [start, end) with the writes of over
// in it: a written key shows its new value, a deleted one is skipped. The
// keys of over are sorted first; nothing depends on the map's order.
func MergeIterate(st Store, over map[string][]byte, start, end []byte, fn func(k, v []byte) bool) {
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
