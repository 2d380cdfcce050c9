package node

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/lp2p"
	cmtp2p "github.com/cometbft/cometbft/p2p"
	"github.com/spf13/viper"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/internal/atomicfile"
)

// Default listen addresses: loopback only.
const (
	DefaultRPCAddr = "127.0.0.1:26657"
	DefaultP2PAddr = "127.0.0.1:26656"
)

// Files of a home, relative to it (CometBFT's layout plus the member key).
const (
	ConfigFile    = "config/config.toml"
	GenesisFile   = "config/genesis.json"
	MemberKeyFile = "config/member_key.pem"
	// AppDBDir is the application's IAVL database directory.
	AppDBDir = "data/idledger"
)

// ConfigOptions are what differs between the nodes of one machine. The zero
// value is a node with the default loopback ports and CometBFT's default
// timing.
type ConfigOptions struct {
	// Moniker names the node in its p2p handshakes; default "idledger".
	Moniker string
	// RPCAddr is the RPC listen address, host:port (default DefaultRPCAddr).
	RPCAddr string
	// P2PAddr is the p2p listen address, host:port (default DefaultP2PAddr).
	// It is also the address advertised to peers.
	P2PAddr string
	// PrometheusAddr, host:port, turns on CometBFT's and the app's
	// Prometheus metrics at http://PrometheusAddr/metrics. "" keeps them off.
	PrometheusAddr string
	// PersistentPeers are the peers to stay connected to, each
	// "NODEID@host:port". Not with LibP2P.
	PersistentPeers []string
	// LibP2P runs p2p on CometBFT's go-libp2p transport ([p2p.libp2p],
	// experimental in CometBFT v0.40) instead of its own: QUIC on P2PAddr's
	// port over UDP, no peer exchange, and peers only from LibP2PPeers.
	// CometBFT does not apply filter_peers on this transport: any node that
	// can reach the port may connect (docs/testnet.md).
	LibP2P bool
	// LibP2PPeers are, with LibP2P, the peers to connect to and reconnect
	// to (persistent bootstrap peers), each "PEERID@host:port" where PEERID
	// is the peer's libp2p ID (LibP2PID of its node key).
	LibP2PPeers []string
	// Fast shortens the consensus timeouts (FastConsensus) for tests and
	// local testnets: a block every quarter second instead of every second.
	Fast bool
	// LogLevel is CometBFT's log_level ("info" by default; also e.g.
	// "consensus:info,*:error"). LogFormat is "plain" (default) or "json".
	LogLevel, LogFormat string
}

// FastConsensus shortens ctx's timeouts for tests and local testnets: with
// one validator a block is committed about every TimeoutCommit; with a few
// validators on one machine rounds still complete well inside the propose
// and vote timeouts.
func FastConsensus(c *cmtcfg.ConsensusConfig) {
	c.TimeoutPropose = 1 * time.Second
	c.TimeoutProposeDelta = 200 * time.Millisecond
	c.TimeoutPrevote = 200 * time.Millisecond
	c.TimeoutPrevoteDelta = 100 * time.Millisecond
	c.TimeoutPrecommit = 200 * time.Millisecond
	c.TimeoutPrecommitDelta = 100 * time.Millisecond
	c.TimeoutCommit = 250 * time.Millisecond
	c.SkipTimeoutCommit = false
	c.PeerGossipSleepDuration = 20 * time.Millisecond
	c.PeerQueryMaj23SleepDuration = 500 * time.Millisecond
}

// NewConfig builds the CometBFT configuration of a node whose home is home:
// CometBFT's defaults, then RPC and p2p on the given loopback addresses,
// peer filtering by the application (only nodes registered to validator
// members may connect), non-strict address book (local and private
// networks), several nodes per IP allowed, the "kv" transaction indexer (so
// transactions can be looked up by hash), and o's other choices. It does
// not write anything; see WriteConfig.
func NewConfig(home string, o ConfigOptions) *cmtcfg.Config {
	c := cmtcfg.DefaultConfig()
	c.SetRoot(home)
	c.Moniker = o.Moniker
	if c.Moniker == "" {
		c.Moniker = "idledger"
	}
	// The application runs in-process; proxy_app is not used.
	c.ProxyApp = "in-process"
	rpc, p2p := o.RPCAddr, o.P2PAddr
	if rpc == "" {
		rpc = DefaultRPCAddr
	}
	if p2p == "" {
		p2p = DefaultP2PAddr
	}
	c.RPC.ListenAddress = "tcp://" + rpc
	c.P2P.ListenAddress = "tcp://" + p2p
	c.P2P.ExternalAddress = p2p
	c.P2P.PersistentPeers = strings.Join(o.PersistentPeers, ",")
	if o.LibP2P {
		c.P2P.LibP2PConfig.Enabled = true
		c.P2P.PexReactor = false // CometBFT turns it off anyway, with a log line
		for _, p := range o.LibP2PPeers {
			id, addr, _ := strings.Cut(p, "@")
			c.P2P.LibP2PConfig.BootstrapPeers = append(c.P2P.LibP2PConfig.BootstrapPeers,
				cmtcfg.LibP2PBootstrapPeer{Host: addr, ID: id, Persistent: true})
		}
	}
	c.P2P.AddrBookStrict = false
	c.P2P.AllowDuplicateIP = true
	c.FilterPeers = true
	c.TxIndex.Indexer = "kv"
	// A transaction over the chain's cap never decodes: the mempool
	// refuses it before CheckTx, and never holds or gossips it.
	c.Mempool.MaxTxBytes = chain.MaxTxSize
	if o.PrometheusAddr != "" {
		c.Instrumentation.Prometheus = true
		c.Instrumentation.PrometheusListenAddr = o.PrometheusAddr
	}
	if o.Fast {
		FastConsensus(c.Consensus)
	}
	if o.LogLevel != "" {
		c.LogLevel = o.LogLevel
	}
	if o.LogFormat != "" {
		c.LogFormat = o.LogFormat
	}
	return c
}

// ValidateConfigOptions checks o's addresses and peers, naming the field at
// fault.
func ValidateConfigOptions(o ConfigOptions) error {
	for _, a := range []struct{ name, addr string }{
		{"rpc address", o.RPCAddr}, {"p2p address", o.P2PAddr}, {"prometheus address", o.PrometheusAddr},
	} {
		if a.addr == "" {
			continue
		}
		if err := checkHostPort(a.addr); err != nil {
			return fmt.Errorf("node: %s %q: %w", a.name, a.addr, err)
		}
	}
	for _, p := range o.PersistentPeers {
		id, addr, ok := strings.Cut(p, "@")
		if !ok || len(id) != 40 || checkHostPort(addr) != nil {
			return fmt.Errorf("node: persistent peer %q: want NODEID@host:port", p)
		}
	}
	switch {
	case o.LibP2P && len(o.PersistentPeers) > 0:
		return errors.New("node: persistent peers are not used on the libp2p transport; give libp2p peers (PEERID@host:port)")
	case !o.LibP2P && len(o.LibP2PPeers) > 0:
		return errors.New("node: libp2p peers given without the libp2p transport")
	}
	for _, p := range o.LibP2PPeers {
		id, addr, ok := strings.Cut(p, "@")
		if !ok || checkHostPort(addr) != nil {
			return fmt.Errorf("node: libp2p peer %q: want PEERID@host:port", p)
		}
		if _, err := lp2p.AddrInfoFromHostAndID(addr, id); err != nil {
			return fmt.Errorf("node: libp2p peer %q: %w", p, err)
		}
	}
	switch o.LogFormat {
	case "", cmtcfg.LogFormatPlain, cmtcfg.LogFormatJSON:
	default:
		return fmt.Errorf("node: log format %q: want plain or json", o.LogFormat)
	}
	return nil
}

// LibP2PID is the libp2p peer ID ("12D3KooW...") of a node key: what
// CometBFT's libp2p transport identifies the node by, and what its peers
// name it by in LibP2PPeers. Like the node ID it derives from the key alone
// (the ID embeds the ed25519 public key, of which the node ID is a hash).
func LibP2PID(k *cmtp2p.NodeKey) (string, error) {
	id, err := lp2p.IDFromPrivateKey(k.PrivKey)
	if err != nil {
		return "", fmt.Errorf("node: %w", err)
	}
	return id.String(), nil
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port")
	}
	if host == "" {
		return errors.New("want an explicit host such as 127.0.0.1")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("bad port")
	}
	return nil
}

// WriteConfig writes c to its home's config/config.toml, creating the
// config and data directories (mode 0700).
func WriteConfig(c *cmtcfg.Config) (err error) {
	if err := c.ValidateBasic(); err != nil {
		return fmt.Errorf("node: config: %w", err)
	}
	for _, d := range []string{"config", "data"} {
		if err := os.MkdirAll(filepath.Join(c.RootDir, d), cmtcfg.DefaultDirPerm); err != nil {
			return fmt.Errorf("node: %w", err)
		}
	}
	// CometBFT's writer panics on failure; turn that into an error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("node: writing %s: %v", filepath.Join(c.RootDir, ConfigFile), r)
		}
	}()
	if err := writeConfigFile(filepath.Join(c.RootDir, ConfigFile), c); err != nil {
		return fmt.Errorf("node: writing %s: %w", filepath.Join(c.RootDir, ConfigFile), err)
	}
	return nil
}

// LoadConfig reads home/config/config.toml over CometBFT's defaults, the
// way the cometbft command does, and validates it.
func LoadConfig(home string) (*cmtcfg.Config, error) {
	path := filepath.Join(home, ConfigFile)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("node: %s is not a node home (no %s); run idledger init first", home, ConfigFile)
		}
		return nil, fmt.Errorf("node: %w", err)
	}
	v := viper.New()
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("node: reading %s: %w", path, err)
	}
	c := cmtcfg.DefaultConfig()
	if err := v.Unmarshal(c); err != nil {
		return nil, fmt.Errorf("node: decoding %s: %w", path, err)
	}
	c.SetRoot(home)
	// A home written before the cap was set holds CometBFT's 1 MB: a
	// bigger transaction than the chain's cap can never be valid.
	if c.Mempool.MaxTxBytes > chain.MaxTxSize {
		c.Mempool.MaxTxBytes = chain.MaxTxSize
	}
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("node: %s: %w", path, err)
	}
	return c, nil
}

// RPCURL returns the http:// URL of c's RPC listen address, for clients.
func RPCURL(c *cmtcfg.Config) string {
	addr := c.RPC.ListenAddress
	if i := strings.Index(addr, "://"); i >= 0 {
		addr = addr[i+3:]
	}
	return "http://" + addr
}

// AppConfigFile holds the application's own settings (snapshots), beside
// CometBFT's config.toml.
const AppConfigFile = "config/app.toml"

// Snapshot defaults of a new home.
const (
	DefaultSnapshotInterval   = 1000
	DefaultSnapshotKeepRecent = 2
)

// AppConfig are the application's settings in HOME/config/app.toml.
type AppConfig struct {
	// SnapshotInterval: take a state-sync snapshot every this many heights
	// (0: none). Nodes joining by state sync restore the newest one.
	SnapshotInterval int64 `mapstructure:"interval"`
	// SnapshotKeepRecent is how many snapshots to keep (at least 1).
	SnapshotKeepRecent uint32 `mapstructure:"keep_recent"`
	// State is the [state] section.
	State StateConfig `mapstructure:"-"`
}

// StateConfig tunes the application's state tree ([state] in app.toml).
type StateConfig struct {
	// CacheNodes is how many IAVL nodes stay in memory (0: the app's
	// default, app.DefaultNodeCache).
	CacheNodes int `mapstructure:"cache_nodes"`
	// KeepVersions is how many recent versions of the state stay
	// queryable with proofs (0: the app's default, app.DefaultKeepVersions).
	KeepVersions int64 `mapstructure:"keep_versions"`
	// PruneEvery: delete the versions older than keep_versions every this
	// many heights (0: the app's default, app.DefaultPruneEvery).
	PruneEvery int64 `mapstructure:"prune_every"`
	// DBCacheMiB is the state database's block cache in MiB (0: the app's
	// default, app.DefaultDBCacheMiB).
	DBCacheMiB int `mapstructure:"db_cache_mib"`
}

// AppOptions sets the state options of o from s.
func (s StateConfig) AppOptions(o *app.Options) {
	o.NodeCache, o.KeepVersions = s.CacheNodes, s.KeepVersions
	o.Store.PruneEvery, o.Store.DBCacheMiB = s.PruneEvery, s.DBCacheMiB
}

// DefaultAppConfig is the app config of a new home.
func DefaultAppConfig() AppConfig {
	return AppConfig{SnapshotInterval: DefaultSnapshotInterval, SnapshotKeepRecent: DefaultSnapshotKeepRecent}
}

// ValidateBasic checks the values.
func (a AppConfig) ValidateBasic() error {
	if a.SnapshotInterval < 0 {
		return fmt.Errorf("snapshots.interval %d: want 0 (off) or a positive number of heights", a.SnapshotInterval)
	}
	if a.SnapshotKeepRecent < 1 {
		return fmt.Errorf("snapshots.keep_recent %d: want at least 1", a.SnapshotKeepRecent)
	}
	if a.State.CacheNodes < 0 {
		return fmt.Errorf("state.cache_nodes %d: want 0 (the default) or a number of nodes", a.State.CacheNodes)
	}
	if a.State.KeepVersions < 0 || a.State.KeepVersions == 1 {
		return fmt.Errorf("state.keep_versions %d: want 0 (the default) or at least %d versions (a proof at version h is checked against block h+1's header)", a.State.KeepVersions, app.MinKeepVersions)
	}
	if a.State.PruneEvery < 0 {
		return fmt.Errorf("state.prune_every %d: want 0 (the default) or a number of heights", a.State.PruneEvery)
	}
	if a.State.DBCacheMiB < 0 {
		return fmt.Errorf("state.db_cache_mib %d: want 0 (the default) or a size in MiB", a.State.DBCacheMiB)
	}
	return nil
}

// WriteAppConfig writes a to home's config/app.toml (crash-safe).
func WriteAppConfig(home string, a AppConfig) error {
	if err := a.ValidateBasic(); err != nil {
		return fmt.Errorf("node: %s: %w", AppConfigFile, err)
	}
	text := fmt.Sprintf(`# idledger application settings (CometBFT's are in config.toml).

[snapshots]
# Take a state-sync snapshot of the application state every this many
# heights (0: never). Nodes joining with "idledger join" restore the newest
# snapshot their peers offer; blocks are never pruned below the oldest
# snapshot this node keeps.
interval = %d
# How many snapshots to keep.
keep_recent = %d

[state]
# How many nodes of the state tree stay in memory (0: the default, %d:
# a million attestations make about 2.5 million nodes, and a full cache
# takes 3-4 GB). A proven query reads one path from the root; with the
# path cached it is answered without touching the disk.
cache_nodes = %d
# How many recent versions of the state stay queryable with proofs (0: the
# default, %d). Older versions are deleted every prune_every heights (0:
# the default, %d); a version's proofs are checked against the next
# block's header, so a relying party needs only recent ones.
keep_versions = %d
prune_every = %d
# The state database's block cache in MiB (0: the default, %d).
db_cache_mib = %d
`, a.SnapshotInterval, a.SnapshotKeepRecent, app.DefaultNodeCache, a.State.CacheNodes,
		app.DefaultKeepVersions, app.DefaultPruneEvery, a.State.KeepVersions, a.State.PruneEvery,
		app.DefaultDBCacheMiB, a.State.DBCacheMiB)
	if err := os.MkdirAll(filepath.Join(home, "config"), cmtcfg.DefaultDirPerm); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(home, AppConfigFile), []byte(text), 0o600); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}

// LoadAppConfig reads home's config/app.toml; a home without one (made
// before there was one) gets snapshots off.
func LoadAppConfig(home string) (AppConfig, error) {
	path := filepath.Join(home, AppConfigFile)
	a := AppConfig{SnapshotKeepRecent: DefaultSnapshotKeepRecent}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return a, nil
	}
	v := viper.New()
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		return a, fmt.Errorf("node: reading %s: %w", path, err)
	}
	if err := v.UnmarshalKey("snapshots", &a); err != nil {
		return a, fmt.Errorf("node: decoding %s: %w", path, err)
	}
	if err := v.UnmarshalKey("state", &a.State); err != nil {
		return a, fmt.Errorf("node: decoding %s: %w", path, err)
	}
	if err := a.ValidateBasic(); err != nil {
		return a, fmt.Errorf("node: %s: %w", path, err)
	}
	return a, nil
}

// SnapshotDir is where a home's state-sync snapshots are kept.
const SnapshotDir = "data/snapshots"

// snapshotOptions are the app's snapshot options from home's app.toml.
func snapshotOptions(home string, a AppConfig) app.SnapshotOptions {
	return app.SnapshotOptions{Dir: filepath.Join(home, SnapshotDir), Interval: a.SnapshotInterval, KeepRecent: int(a.SnapshotKeepRecent)}
}
