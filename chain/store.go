package chain

// Store is the state the rules read and write: an ordered key-value store.
// Implementations are the IAVL working tree (FinalizeBlock) and a cached view
// of the last committed tree (CheckTx). A store failure is a broken invariant:
// implementations panic rather than return errors.
type Store interface {
	Get(key []byte) []byte
	Set(key, value []byte)
	Delete(key []byte)
	// Iterate calls fn for each key in [start, end) in ascending order until fn
	// returns false. A nil end means no upper bound.
	Iterate(start, end []byte, fn func(key, value []byte) bool)
}
