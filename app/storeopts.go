package app

import (
	"fmt"

	"github.com/cosmos/iavl"
	iavldb "github.com/cosmos/iavl/db"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// How the state is stored: the goleveldb options under the IAVL tree, the
// tree's own, and version pruning. None of them reaches the app hash: two
// nodes with different settings agree on every block. The defaults come
// from docs/performance.md, "State growth (December 2026, second pass)".

// StoreOptions tune the state database (the [state] section of app.toml).
// Zero values take the defaults.
type StoreOptions struct {
	// DBCacheMiB is goleveldb's block cache (default DefaultDBCacheMiB).
	DBCacheMiB int
	// DBWriteBufferMiB is goleveldb's memtable (default
	// DefaultDBWriteBufferMiB): the writes it holds before a level-0 table.
	DBWriteBufferMiB int
	// DBTableMiB is the size of goleveldb's sorted tables (default
	// DefaultDBTableMiB): larger tables, fewer files and compactions.
	DBTableMiB int
	// FastIndex turns on IAVL's fast index (every key's latest value in a
	// second table beside the tree, keyed by the state key): reads of the
	// latest version skip the tree walk, but every write costs a second
	// database entry at a random place, whose compaction and lookups grow
	// with the state. Off by default: at 150,000 attestations it made a
	// block cost 2.4 times the CPU (docs/performance.md). A database
	// written with it keeps its old index entries, unused; turning it back
	// on rebuilds the index once.
	FastIndex bool
	// PruneEvery is how often, in versions, versions older than
	// KeepVersions are deleted (default DefaultPruneEvery).
	PruneEvery int64
}

// Store defaults.
const (
	DefaultDBCacheMiB       = 8
	DefaultDBWriteBufferMiB = 4
	DefaultDBTableMiB       = 2
	DefaultPruneEvery       = 10
	// DefaultKeepVersions is how many recent versions of the state stay
	// queryable (with proofs) when Options.KeepVersions is unset.
	DefaultKeepVersions = 100_000
	// MinKeepVersions is the fewest versions kept, whatever is set: a
	// proof read at version h is checked against the header of block h+1,
	// so version h must outlive the commit of h+1 (the verifier feed asks
	// for it then, and so does a relying party).
	MinKeepVersions = 2
)

func (o *StoreOptions) setDefaults() {
	if o.DBCacheMiB <= 0 {
		o.DBCacheMiB = DefaultDBCacheMiB
	}
	if o.DBWriteBufferMiB <= 0 {
		o.DBWriteBufferMiB = DefaultDBWriteBufferMiB
	}
	if o.DBTableMiB <= 0 {
		o.DBTableMiB = DefaultDBTableMiB
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = DefaultPruneEvery
	}
}

// openStateTree opens DIR/NAME.db with the store options of o and loads
// the tree's latest version.
func openStateTree(dir, name string, o Options) (*iavldb.GoLevelDB, *iavl.MutableTree, error) {
	s := o.Store
	s.setDefaults()
	cache := o.NodeCache
	if cache <= 0 {
		cache = DefaultNodeCache
	}
	db, err := iavldb.NewGoLevelDBWithOpts(name, dir, &opt.Options{
		Filter:              filter.NewBloomFilter(10),
		BlockCacheCapacity:  s.DBCacheMiB * opt.MiB,
		WriteBuffer:         s.DBWriteBufferMiB * opt.MiB,
		CompactionTableSize: s.DBTableMiB * opt.MiB,
	})
	if err != nil {
		return nil, nil, err
	}
	tree := iavl.NewMutableTree(db, cache, !s.FastIndex, iavl.NewNopLogger())
	if _, err := tree.Load(); err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, tree, nil
}

// pruneVersions deletes the versions older than the last KeepVersions,
// every PruneEvery versions; called by Commit with the version it saved.
func (a *App) pruneVersions(v int64) {
	keep, every := a.opts.KeepVersions, a.opts.Store.PruneEvery
	if every <= 0 {
		every = DefaultPruneEvery
	}
	if v <= keep || v%every != 0 {
		return
	}
	if err := a.tree.DeleteVersionsTo(v - keep); err != nil {
		a.log.Error("pruning old state versions", "to", v-keep, "err", fmt.Sprint(err))
	}
}
