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
	"github.com/spf13/viper"
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
	// "NODEID@host:port".
	PersistentPeers []string
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
	c.P2P.AddrBookStrict = false
	c.P2P.AllowDuplicateIP = true
	c.FilterPeers = true
	c.TxIndex.Indexer = "kv"
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
	switch o.LogFormat {
	case "", cmtcfg.LogFormatPlain, cmtcfg.LogFormatJSON:
	default:
		return fmt.Errorf("node: log format %q: want plain or json", o.LogFormat)
	}
	return nil
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
	cmtcfg.WriteConfigFile(filepath.Join(c.RootDir, ConfigFile), c)
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
