package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtflags "github.com/cometbft/cometbft/libs/cli/flags"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/libs/log"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/genesis"
)

// StartOptions adjust how Start runs a home.
type StartOptions struct {
	// LogWriter receives the node's logs, formatted and filtered as the
	// config's log_format and log_level say. Default os.Stderr.
	LogWriter io.Writer
	// Logger, if set, is used as is instead.
	Logger log.Logger
	// App, if set, makes the ABCI application to run instead of idledger's
	// (closed on Stop if it is an io.Closer); the node is otherwise the
	// same. Load tests compare against CometBFT's kvstore this way.
	App func(home string) (abci.Application, error)
	// Feed, if set, publishes the verifier feed over libp2p.
	Feed *FeedOptions
}

// Node is a running idledger node: CometBFT with the app in-process.
type Node struct {
	// upgrade is the idledger app, for its upgrade halt (nil for another app).
	upgrade *app.App
	// signerListener listens for the remote signer (priv_validator_laddr).
	signerListener *privval.SignerListenerEndpoint

	cfg    *cmtcfg.Config
	cmt    *nm.Node
	app    *guardedApp
	dbs    *dbTracker
	logger log.Logger
	feed   *feedRunner
	peers  *peerChecker // nil without filter_peers

	stopOnce sync.Once
	stopErr  error
}

// Start loads home's configuration, genesis and keys, opens the app's state
// and starts CometBFT: consensus, p2p, RPC (and Prometheus when
// configured). A restarted node resumes from its stored state: CometBFT
// replays to the app whatever blocks the app has not committed. Stop it with
// Stop.
func Start(home string, opts StartOptions) (*Node, error) {
	c, err := LoadConfig(home)
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		if logger, err = NewLogger(c, opts.LogWriter); err != nil {
			return nil, err
		}
	}
	doc, err := cmttypes.GenesisDocFromFile(c.GenesisFile())
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	appState, err := genesis.FromDoc(doc)
	if err != nil {
		return nil, fmt.Errorf("node: %s: %w", c.GenesisFile(), err)
	}
	nodeKey, err := p2p.LoadNodeKey(c.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("node: node key %s: %w", c.NodeKeyFile(), err)
	}
	var (
		pv             cmttypes.PrivValidator
		signerListener *privval.SignerListenerEndpoint
		started        bool // for the deferred cleanup
	)
	// With priv_validator_laddr set, the node listens there for a remote
	// signer (idledger signer run, tmkms, horcrux) and the key stays off
	// this machine (privval.go).
	if c.PrivValidatorListenAddr == "" {
		if pv, err = loadFilePV(c); err != nil {
			return nil, err
		}
	} else {
		client, listener, err := remoteSigner(c, doc.ChainID, nodeKey, logger.With("module", "privval"))
		if err != nil {
			return nil, err
		}
		pv = client
		signerListener = listener
		defer func() {
			if !started {
				_ = listener.Stop()
			}
		}()
		// CometBFT must not make a listener of its own: a copy of the
		// config without the address goes to it, and to n.Config().
		nc := *c
		nc.PrivValidatorListenAddr = ""
		c = &nc
	}

	var ga *guardedApp
	var upgradeApp *app.App
	var appMetrics *app.Metrics
	if opts.App != nil {
		other, err := opts.App(home)
		if err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
		ga = &guardedApp{Application: other}
		if cl, ok := other.(io.Closer); ok {
			ga.closer = cl
		}
	} else {
		appOpts := app.Options{DBDir: filepath.Join(home, AppDBDir), Logger: logger.With("module", "app")}
		observers, err := LoadObservers(home)
		if err != nil {
			return nil, err
		}
		appOpts.ObserverNodeIDs = observers
		ac, err := LoadAppConfig(home)
		if err != nil {
			return nil, err
		}
		appOpts.Snapshots = snapshotOptions(home, ac)
		ac.State.AppOptions(&appOpts) // [state]: cache, versions kept, pruning, database cache
		if c.Instrumentation.IsPrometheusEnabled() {
			appOpts.Metrics = app.NewMetrics(prometheus.DefaultRegisterer)
			appMetrics = appOpts.Metrics
		}
		a, err := app.New(appOpts)
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) {
				return nil, fmt.Errorf("node: %w (is another node running from %s?)", err, home)
			}
			return nil, fmt.Errorf("node: %w", err)
		}
		if e := a.UpgradeNeeded(); e != nil {
			a.Close()
			return nil, fmt.Errorf("node: %w", e)
		}
		upgradeApp = a
		if c.Instrumentation.IsPrometheusEnabled() {
			a.RegisterCacheMetrics(prometheus.DefaultRegisterer)
		}
		ga = &guardedApp{Application: a, closer: a, genesisPeers: genesisPeers(appState, observers, string(nodeKey.ID()))}
	}

	dbs := new(dbTracker)
	cmt, err := nm.NewNode(c, pv, nodeKey,
		clientCreator(ga, opts.App != nil),
		func() (*cmttypes.GenesisDoc, error) { return doc, nil },
		dbs.provider,
		nm.DefaultMetricsProvider(c.Instrumentation),
		logger,
	)
	if err != nil {
		err = upgradeHaltOr(upgradeApp, err) // replaying the upgrade block
		dbs.closeAll()
		ga.Close()
		return nil, fmt.Errorf("node: %w", err)
	}
	var gate *libp2pGate
	if c.P2P.LibP2PEnabled() && c.FilterPeers {
		if gate, err = gateLibP2P(cmt, ga, doc.ChainID, logger.With("module", "p2p-gate")); err != nil {
			closeUnstarted(cmt)
			dbs.closeAll()
			ga.Close()
			return nil, err
		}
	}
	var pc *peerChecker
	if c.FilterPeers {
		pc = newPeerChecker(cmt.Switch(), gate, ga, logger.With("module", "p2p-recheck"))
		ga.setOnCommit(pc.committed)
	}
	if err := cmt.Start(); err != nil {
		pc.stop()
		closeUnstarted(cmt)
		dbs.closeAll()
		ga.Close()
		return nil, fmt.Errorf("node: starting: %w", err)
	}
	logger.Info("idledger node started", "home", home, "chain_id", doc.ChainID, "node_id", nodeKey.ID(),
		"rpc", c.RPC.ListenAddress, "p2p", c.P2P.ListenAddress)
	n := &Node{cfg: c, cmt: cmt, app: ga, dbs: dbs, logger: logger, peers: pc}
	if opts.Feed != nil {
		if n.feed, err = startFeed(n, home, doc.ChainID, opts.Feed, logger); err != nil {
			n.Stop()
			return nil, err
		}
		if appMetrics != nil {
			appMetrics.SetFeedPeers(n.feedPeers)
		}
	}
	n.upgrade, n.signerListener = upgradeApp, signerListener
	started = true // n.Stop closes the signer listener from here on
	return n, nil
}

// dbTracker opens CometBFT's databases with the default provider and
// remembers them: CometBFT v0.40 does not close every database it opens
// (the tx index stays open after Node.Stop), which would keep a restarted
// node in the same process from opening its home.
type dbTracker struct {
	mu  sync.Mutex
	dbs []dbm.DB
}

func (t *dbTracker) provider(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	raw, err := cmtcfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	db := &closableDB{DB: raw}
	t.mu.Lock()
	t.dbs = append(t.dbs, db)
	t.mu.Unlock()
	return db, nil
}

// closableDB reads as empty once closed. CometBFT v0.40 closes its block
// store in Node.OnStop while per-peer consensus goroutines
// (queryMaj23Routine) may still be between their "still running?" check and
// a read; its BlockStore panics on any read error ("leveldb: closed"),
// which takes the whole process down at shutdown. A read after Close
// answers "not found" instead, which those goroutines already handle (a
// nil commit is skipped) before they see the reactor stopped.
type closableDB struct {
	dbm.DB
	closed atomic.Bool
}

func (d *closableDB) Get(key []byte) ([]byte, error) {
	if d.closed.Load() {
		return nil, nil
	}
	v, err := d.DB.Get(key)
	if err != nil && d.closed.Load() {
		return nil, nil
	}
	return v, err
}

func (d *closableDB) Has(key []byte) (bool, error) {
	if d.closed.Load() {
		return false, nil
	}
	ok, err := d.DB.Has(key)
	if err != nil && d.closed.Load() {
		return false, nil
	}
	return ok, err
}

func (d *closableDB) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	return d.DB.Close()
}

// closeAll closes every database (those CometBFT closed already are
// skipped).
func (t *dbTracker) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, db := range t.dbs {
		_ = db.Close()
	}
	t.dbs = nil
}

// closeUnstarted releases the databases of a node whose Start failed, so
// that the home can be opened again in this process.
func closeUnstarted(n *nm.Node) {
	defer func() { _ = recover() }()
	n.OnStop()
}

// NewLogger builds the logger c asks for (log_format, log_level), writing
// to w (os.Stderr when nil).
func NewLogger(c *cmtcfg.Config, w io.Writer) (log.Logger, error) {
	if w == nil {
		w = os.Stderr
	}
	var base log.Logger
	if c.LogFormat == cmtcfg.LogFormatJSON {
		base = log.NewTMJSONLogger(log.NewSyncWriter(w))
	} else {
		base = log.NewTMLogger(log.NewSyncWriter(w))
	}
	l, err := cmtflags.ParseLogLevel(c.LogLevel, base, cmtcfg.DefaultLogLevel)
	if err != nil {
		return nil, fmt.Errorf("node: log_level %q: %w", c.LogLevel, err)
	}
	return l, nil
}

// loadFilePV checks the consensus key and sign state files before handing
// them to privval.LoadFilePV, which exits the process on any error.
func loadFilePV(c *cmtcfg.Config) (*privval.FilePV, error) {
	keyFile, stateFile := c.PrivValidatorKeyFile(), c.PrivValidatorStateFile()
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("node: consensus key: %w", err)
	}
	var key privval.FilePVKey
	if err := cmtjson.Unmarshal(b, &key); err != nil || key.PrivKey == nil {
		return nil, fmt.Errorf("node: consensus key %s does not decode: %v", keyFile, err)
	}
	b, err = os.ReadFile(stateFile)
	if err != nil {
		return nil, fmt.Errorf("node: consensus sign state: %w", err)
	}
	var st privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("node: consensus sign state %s does not decode: %v", stateFile, err)
	}
	return privval.LoadFilePV(keyFile, stateFile), nil
}

// Config returns the node's configuration. Treat it as read-only.
func (n *Node) Config() *cmtcfg.Config { return n.cfg }

// RPCURL returns the URL clients reach the node's RPC at.
func (n *Node) RPCURL() string { return RPCURL(n.cfg) }

// NodeID returns the node's p2p ID.
func (n *Node) NodeID() string { return string(n.cmt.NodeInfo().ID()) }

// CometBFT returns the underlying CometBFT node (block store, event bus, ...).
func (n *Node) CometBFT() *nm.Node { return n.cmt }

// Done is closed when the node has stopped.
func (n *Node) Done() <-chan struct{} { return n.cmt.Quit() }

// Stop stops CometBFT (consensus, p2p, RPC), waits for it, and closes the
// app's state. It is safe to call more than once.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		var errs []error
		n.feed.stop()
		n.app.setOnCommit(nil)
		n.peers.stop()
		if n.cmt.IsRunning() {
			if err := n.cmt.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("node: stopping CometBFT: %w", err))
			}
			n.cmt.Wait()
		}
		if n.signerListener != nil {
			_ = n.signerListener.Stop()
		}
		n.dbs.closeAll()
		if err := n.app.Close(); err != nil {
			errs = append(errs, fmt.Errorf("node: closing the app: %w", err))
		}
		n.stopErr = errors.Join(errs...)
		n.logger.Info("idledger node stopped")
	})
	return n.stopErr
}

// Run starts the node in home and runs it until ctx is done (the CLI
// cancels it on SIGINT and SIGTERM), then stops it cleanly.
func Run(ctx context.Context, home string, opts StartOptions) error {
	n, err := Start(home, opts)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-n.Done():
	case <-n.UpgradeHalt():
		return n.stopForUpgrade(ctx)
	}
	return n.Stop()
}

// guardedApp lets the node close the app while late RPC requests (a query
// or a transaction on a kept-alive connection) may still arrive: after
// Close they get an error answer instead of touching a closed database.
type guardedApp struct {
	abci.Application
	closer io.Closer // the app's Close, if any
	// genesisPeers, when set, are the only peers allowed before the first
	// commit (peercheck.go).
	genesisPeers map[string]bool

	mu       sync.RWMutex
	closed   bool
	onCommit func() // after each Commit (peer re-checks)
}

func (g *guardedApp) setOnCommit(f func()) {
	g.mu.Lock()
	g.onCommit = f
	g.mu.Unlock()
}

func (g *guardedApp) Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error) {
	res, err := g.Application.Commit(ctx, req)
	g.mu.RLock()
	f := g.onCommit
	g.mu.RUnlock()
	if err == nil && f != nil {
		f()
	}
	return res, err
}

var _ abci.Application = (*guardedApp)(nil)

const codeClosed = 1

func (g *guardedApp) Query(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return &abci.ResponseQuery{Code: codeClosed, Log: "node is shutting down", Codespace: "idledger-node"}, nil
	}
	if strings.HasPrefix(req.Path, peerFilterPath) {
		return g.filterPeer(ctx, req)
	}
	return g.Application.Query(ctx, req)
}

func (g *guardedApp) CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return &abci.ResponseCheckTx{Code: codeClosed, Log: "node is shutting down", Codespace: "idledger-node"}, nil
	}
	return g.Application.CheckTx(ctx, req)
}

func (g *guardedApp) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	if g.closer == nil {
		return nil
	}
	return g.closer.Close()
}
