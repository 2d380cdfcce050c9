package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cosmos/iavl"
	iavldb "github.com/cosmos/iavl/db"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/internal/memo"
)

// Version is the application's version, reported in Info.
const Version = "0.1.0"

// AppVersion is the protocol version of the state machine.
const AppVersion = 1

// Options configure an App.
type Options struct {
	// DBDir is the directory of the IAVL database (goleveldb).
	DBDir string
	// Logger receives the app's structured logs. Nil: none.
	Logger log.Logger
	// CertCache bounds the checked-certificate cache (default 100000).
	CertCache int
	// TxCache bounds the cache of transactions verified in CheckTx and
	// awaiting a block (default 50000).
	TxCache int
	// KeepVersions is how many recent state versions stay queryable (default
	// 100000; 0 keeps them all is not offered: versions cost disk).
	KeepVersions int64
	// ObserverNodeIDs may peer with this node besides the validators' nodes.
	ObserverNodeIDs []string
	// Metrics; nil disables them.
	Metrics *Metrics
	// Snapshots configure state-sync snapshots (snapshot.go).
	Snapshots SnapshotOptions
	// NodeCache is how many IAVL nodes stay in memory (default
	// DefaultNodeCache). A proven status query reads one path from the root
	// to a leaf; the upper levels of that path should always be cached.
	NodeCache int
	// Store tunes the state database and version pruning (storeopts.go).
	Store StoreOptions
}

// DefaultNodeCache is the IAVL node cache of a node that sets none. A
// million attestations make a tree of about 2.5 million nodes; with all of
// them cached a block's state work and a proven query stay flat (1,000,000
// nodes left a query at 230 µs there, docs/performance.md). A full cache
// takes 3-4 GB of the 23 GB machines this is measured on; a node only
// fills it as its state grows.
const DefaultNodeCache = 4_000_000

// App is the idledger ABCI application.
type App struct {
	abci.BaseApplication
	// halted is set, and upgradeHalt closed, when the chain reached an
	// upgrade this binary does not know (see upgrade.go).
	halted      *UpgradeNeededError
	upgradeHalt chan struct{}

	mu      sync.Mutex
	log     log.Logger
	db      *iavldb.GoLevelDB
	tree    *iavl.MutableTree
	machine *chain.Machine
	txs     *memo.Cache[[32]byte, *chain.Tx]
	opts    Options
	metrics *Metrics

	chainID string
	// committed is the last committed version, for CheckTx and queries.
	committed *iavl.ImmutableTree
	// verify is what CheckTx verifies against outside the lock
	// (verifyview.go): a copy of part of committed.
	verify verifyView
	// check is the mempool's view: committed plus admitted transactions.
	// Its base, memo, is the committed version remembering its reads,
	// which the proposal checks read too.
	check *overlay
	memo  *memoStore
	// retainHeight is what Commit tells CometBFT it may prune below.
	retainHeight int64
	// snaps takes, serves and restores state-sync snapshots.
	snaps *snapshotter
}

var _ abci.Application = (*App)(nil)

// New opens (or creates) the state database and loads its latest version.
func New(opts Options) (*App, error) {
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	if opts.CertCache == 0 {
		opts.CertCache = 100_000
	}
	if opts.TxCache == 0 {
		opts.TxCache = 50_000
	}
	if opts.KeepVersions == 0 {
		opts.KeepVersions = DefaultKeepVersions
	}
	opts.KeepVersions = max(opts.KeepVersions, MinKeepVersions)
	if opts.Metrics == nil {
		opts.Metrics = NopMetrics()
	}
	if err := os.MkdirAll(opts.DBDir, 0o700); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	if err := removeRestoreScratch(opts.DBDir); err != nil { // snapshot.go
		return nil, err
	}
	if opts.NodeCache <= 0 {
		opts.NodeCache = DefaultNodeCache
	}
	opts.Store.setDefaults()
	db, tree, err := openStateTree(opts.DBDir, "state", opts) // storeopts.go
	if err != nil {
		return nil, fmt.Errorf("app: open the state in %s: %w", filepath.Join(opts.DBDir, "state.db"), err)
	}
	a := &App{
		upgradeHalt: make(chan struct{}),

		log:     opts.Logger,
		db:      db,
		tree:    tree,
		machine: chain.NewMachine(opts.CertCache),
		txs:     memo.New[[32]byte, *chain.Tx](opts.TxCache),
		opts:    opts,
		metrics: opts.Metrics,
		snaps:   newSnapshotter(opts.Snapshots, opts.Logger.With("module", "snapshots")),
	}
	if err := a.loadCommitted(); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// Close closes the state database.
func (a *App) Close() error {
	a.snaps.wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closeRestore(false) // snapshot.go; New deletes the scratch
	return a.db.Close()
}

func (a *App) loadCommitted() error {
	v := a.tree.Version()
	if v == 0 {
		a.committed, a.verify = nil, nil
		a.memo = newMemoStore(emptyTree())
		a.check = newOverlay(a.memo)
		return nil
	}
	imm, err := a.tree.GetImmutable(v)
	if err != nil {
		return fmt.Errorf("app: load state version %d: %w", v, err)
	}
	a.committed = imm
	a.verify = newVerifyView(readStore{imm})
	a.memo = newMemoStore(imm)
	a.check = newOverlay(a.memo)
	a.chainID = chain.ChainID(readStore{imm})
	a.observeCommit()
	return nil
}

func emptyTree() *iavl.ImmutableTree {
	return iavl.NewImmutableTree(iavldb.NewMemDB(), 0, true, iavl.NewNopLogger())
}

// Info tells CometBFT where the app stands, so that a restarted node replays
// only what the app has not committed.
func (a *App) Info(_ context.Context, _ *abci.RequestInfo) (*abci.ResponseInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	res := &abci.ResponseInfo{Data: "idledger", Version: Version, AppVersion: AppVersion}
	if a.committed != nil {
		res.LastBlockHeight = a.committed.Version()
		res.LastBlockAppHash = a.committed.Hash()
	}
	return res, nil
}

// InitChain writes the genesis state.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, err := genesis.ParseAppState(req.AppStateBytes)
	if err == nil {
		err = st.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("app: genesis app_state: %w", err)
	}
	if req.InitialHeight > 1 {
		a.tree.SetInitialVersion(uint64(req.InitialHeight))
	}
	a.chainID = req.ChainId
	store := treeStore{a.tree}
	chain.InitState(store, req.ChainId, st.Chain())
	for _, v := range req.Validators {
		chain.SetValidator(store, v.PubKey.GetEd25519(), v.Power, st.ValidatorMember(v.PubKey.GetEd25519()))
	}
	return &abci.ResponseInitChain{AppHash: a.tree.WorkingHash()}, nil
}

// CheckTx admits a transaction to the mempool when it would pass against the
// committed state plus the transactions admitted before it.
//
// The expensive part (decoding, the member's ed25519 signature, the
// certificate chain and the subject's RSA signature) runs outside the app's
// lock against the committed state, so that it proceeds on another core
// while a block executes (the node gives the mempool its own ABCI
// connection). Its verdicts are cached by transaction hash; the
// state-dependent rules then run under the lock and find them there. A
// recheck after a block verifies nothing again and runs only the rules a
// block can break (chain.Machine.Recheck).
func (a *App) CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	defer a.metrics.timeCheck()()
	a.mu.Lock()
	chainID, view := a.chainID, a.verify
	a.mu.Unlock()
	tx, err := a.decode(req.Tx, chainID)
	if err == nil && req.Type != abci.CheckTxType_Recheck {
		err = chain.CheckCanonical(tx) // no re-encoded copies in the mempool
	}
	if err == nil {
		if view != nil && req.Type != abci.CheckTxType_Recheck {
			// A warm-up: Deliver below gives the verdict, from the cache.
			_ = a.machine.Verify(view, tx)
		}
		a.mu.Lock()
		if a.chainID != chainID {
			tx, err = a.decode(req.Tx, a.chainID)
		}
		if err == nil {
			h, t := chain.LastBlock(a.check)
			env := chain.Env{Height: h + 1, Time: t}
			switch {
			case req.Type == abci.CheckTxType_Recheck:
				err = a.machine.Recheck(a.check, env, tx)
			case IsDryRun(ctx): // RPC /check_tx (dryrun.go): the view stays as it is
				_, err = chain.TrackChanges(newOverlay(a.check)).Deliver(a.machine, env, tx)
			default:
				// A tracker of its own: refuses a transaction too big for any block.
				_, err = chain.TrackChanges(a.check).Deliver(a.machine, env, tx)
			}
		}
		a.mu.Unlock()
	}
	if err != nil {
		a.txs.Delete(sha256.Sum256(req.Tx))
		code := chain.CodeOf(err)
		a.metrics.refused(code)
		return &abci.ResponseCheckTx{Code: uint32(code), Log: err.Error(), Codespace: "idledger"}, nil
	}
	return &abci.ResponseCheckTx{Code: abci.CodeTypeOK}, nil
}

// decode returns the transaction decoded by an earlier call, or decodes it
// now. The decoded *chain.Tx is shared and never changed (see chain.Tx).
func (a *App) decode(raw []byte, chainID string) (*chain.Tx, error) {
	tx, _, err := a.decodeSeen(raw, chainID)
	return tx, err
}

// decodeSeen is decode, also reporting whether the transaction came from
// the cache (then an earlier call verified it already).
func (a *App) decodeSeen(raw []byte, chainID string) (*chain.Tx, bool, error) {
	h := sha256.Sum256(raw)
	if tx, ok := a.txs.Get(h); ok && tx.Body.ChainId == chainID {
		a.metrics.TxCacheHits.Add(1)
		return tx, true, nil
	}
	tx, err := chain.DecodeTx(raw, chainID)
	if err != nil {
		return nil, false, err
	}
	a.txs.Put(h, tx)
	return tx, false, nil
}

// PrepareProposal, ProcessProposal: see proposal.go.

// FinalizeBlock runs the block's transactions on the working tree and
// returns the new app hash (the IAVL root). Commit persists it.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	store := chain.TrackChanges(treeStore{a.tree}) // lists the block's status writes (feed completeness)
	env := chain.Env{Height: req.Height, Time: req.Time.Unix()}
	if err := a.beginUpgrade(store, env); err != nil {
		return nil, err
	}
	chain.BeginBlock(store, env)
	res := &abci.ResponseFinalizeBlock{TxResults: make([]*abci.ExecTxResult, len(req.Txs))}
	// Decode and verify on every core first (nothing, for transactions this
	// node saw in CheckTx or ProcessProposal); the rules then run in order.
	var base chain.Store
	if a.committed != nil && a.committed.Version() == req.Height-1 {
		base = readStore{a.committed}
	}
	txs, errs := a.verifyAll(base, a.chainID, req.Txs)
	for i, raw := range req.Txs {
		env.TxIndex = uint32(i)
		res.TxResults[i] = a.deliver(store, env, raw, txs[i], errs[i])
	}
	for _, u := range chain.EndBlock(store, env) {
		res.ValidatorUpdates = append(res.ValidatorUpdates, abci.Ed25519ValidatorUpdate(u.PubKey, u.Power))
	}
	store.Commit(req.Height)
	params := chain.GetParams(store)
	if params.BlockRetention > 0 && req.Height > params.BlockRetention {
		a.retainHeight = req.Height - params.BlockRetention + 1
	} else {
		a.retainHeight = 0
	}
	a.retainHeight = a.snaps.retainFloor(req.Height, a.retainHeight)
	res.AppHash = a.tree.WorkingHash()
	a.metrics.Height.Set(float64(req.Height))
	return res, nil
}

func (a *App) deliver(store *chain.ChangeTracker, env chain.Env, raw []byte, tx *chain.Tx, err error) *abci.ExecTxResult {
	stop := a.metrics.timeTx()
	defer stop()
	h := sha256.Sum256(raw)
	var out *chain.Result
	if err == nil {
		out, err = store.Deliver(a.machine, env, tx) // holds the block to its change-list limits
	}
	a.txs.Delete(h)
	if err != nil {
		code := chain.CodeOf(err)
		a.metrics.refused(code)
		return &abci.ExecTxResult{Code: uint32(code), Log: err.Error(), Codespace: "idledger"}
	}
	a.metrics.accepted(out)
	return &abci.ExecTxResult{Code: abci.CodeTypeOK, Events: abciEvents(out.Events)}
}

func abciEvents(evs []chain.Event) []abci.Event {
	out := make([]abci.Event, len(evs))
	for i, e := range evs {
		attrs := make([]abci.EventAttribute, len(e.Attrs))
		for j, at := range e.Attrs {
			attrs[j] = abci.EventAttribute{Key: at.Key, Value: at.Value, Index: true}
		}
		out[i] = abci.Event{Type: e.Type, Attributes: attrs}
	}
	return out
}

// verifyAll decodes raws and runs the machine's Verify against base (nil:
// none) on each that no earlier call decoded (and verified), on every core. It returns the decoded transactions and the
// decoding errors; Verify's verdicts go to the machine's caches only.
func (a *App) verifyAll(base chain.Store, chainID string, raws [][]byte) ([]*chain.Tx, []error) {
	txs, errs := make([]*chain.Tx, len(raws)), make([]error, len(raws))
	var v *chain.Verifier
	if base != nil {
		v = a.machine.NewVerifier(base)
	}
	work := func(i int) {
		var seen bool
		txs[i], seen, errs[i] = a.decodeSeen(raws[i], chainID)
		if errs[i] == nil && v != nil && !seen {
			_ = v.Verify(txs[i], 0)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(raws))
	if workers <= 1 {
		for i := range raws {
			work(i)
		}
		return txs, errs
	}
	var (
		wg   sync.WaitGroup
		next = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				work(i)
			}
		}()
	}
	for i := range raws {
		next <- i
	}
	close(next)
	wg.Wait()
	return txs, errs
}

// Commit persists the working tree as a new version and resets the mempool's
// view to it. CometBFT rechecks the remaining mempool transactions next.
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, v, err := a.tree.SaveVersion()
	if err != nil {
		// The state on disk is what CometBFT will replay against; going on
		// without it would fork this node.
		panic(fmt.Sprintf("app: commit version: %v", err))
	}
	a.pruneVersions(v) // storeopts.go
	if err := a.loadCommitted(); err != nil {
		panic(err.Error())
	}
	a.maybeSnapshot(v)
	return &abci.ResponseCommit{RetainHeight: a.retainHeight}, nil
}

// Query answers reads of the committed state; see query.go.
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	res, err := a.query(req)
	if err != nil {
		var qe *queryError
		code := uint32(1)
		if errors.As(err, &qe) {
			code = qe.code
		}
		return &abci.ResponseQuery{Code: code, Log: err.Error(), Codespace: "idledger"}, nil
	}
	return res, nil
}

// peerAllowed answers CometBFT's /p2p/filter/id/ID query.
func (a *App) peerAllowed(id string) bool {
	id = strings.ToLower(id)
	for _, o := range a.opts.ObserverNodeIDs {
		if strings.ToLower(o) == id {
			return true
		}
	}
	if a.committed == nil {
		return true // before genesis there is nobody to tell apart
	}
	// Any member's registered node may peer: validators' nodes, and full
	// nodes (a member that joined by state sync, a replica for queries).
	for _, m := range chain.Members(readStore{a.committed}) {
		for _, n := range m.NodeIds {
			if n == id {
				return true
			}
		}
	}
	return false
}
