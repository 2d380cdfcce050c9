package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/internal/atomicfile"
	"github.com/idledger/idledger/memberkey"
)

// MemberInfoFile records, in a home made for a genesis ceremony, the chain
// and member the operator chose at init, for the join request.
const MemberInfoFile = "config/member.json"

// MemberInfo is the content of MemberInfoFile.
type MemberInfo struct {
	ChainID string `json:"chain_id"`
	Member  string `json:"member"`
	Name    string `json:"name,omitempty"`
}

// InitKeysOnly makes a home for a genesis ceremony: config.toml and app.toml,
// fresh node, consensus and member keys, and the member file, and no
// genesis. The operator then sends a join request (MakeJoinRequest) and
// installs the assembled genesis (InstallGenesis). Private keys never leave
// the home.
func InitKeysOnly(opts InitOptions) (*InitResult, error) {
	if opts.Home == "" {
		return nil, errors.New("node: no home directory given")
	}
	if opts.ChainID == "" || len(opts.ChainID) > cmttypes.MaxChainIDLen {
		return nil, fmt.Errorf("node: chain ID %q: want 1 to %d characters", opts.ChainID, cmttypes.MaxChainIDLen)
	}
	if !chain.ValidMemberID(opts.MemberID) {
		return nil, fmt.Errorf("node: member ID %q: want 1-32 characters of a-z 0-9 -, starting with a letter or digit", opts.MemberID)
	}
	appCfg := DefaultAppConfig()
	if opts.App != nil {
		appCfg = *opts.App
	}
	if err := appCfg.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	if err := ValidateConfigOptions(opts.Config); err != nil {
		return nil, err
	}
	if err := CheckEmptyHome(opts.Home); err != nil {
		return nil, err
	}
	c := NewConfig(opts.Home, opts.Config)
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("node: config: %w", err)
	}
	keys, err := writeHome(opts.Home, c, appCfg, func(*Keys) error {
		info, _ := json.MarshalIndent(MemberInfo{ChainID: opts.ChainID, Member: opts.MemberID, Name: opts.MemberName}, "", "  ")
		if err := atomicfile.WriteNew(filepath.Join(opts.Home, MemberInfoFile), append(info, '\n'), 0o600); err != nil {
			return fmt.Errorf("node: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return newInitResult(opts.Home, opts.ChainID, opts.MemberID, c, keys), nil
}

// ReadMemberInfo reads home's member file.
func ReadMemberInfo(home string) (*MemberInfo, error) {
	path := filepath.Join(home, MemberInfoFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("node: %s has no %s: make the home with idledger init --keys-only --member ID --chain-id ID", home, MemberInfoFile)
	}
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	m := new(MemberInfo)
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("node: %s: %w", path, err)
	}
	return m, nil
}

// JoinRequestOptions adjust MakeJoinRequest.
type JoinRequestOptions struct {
	// P2PAddress is the address to advertise, host:port; default the
	// config's p2p external address (or listen address).
	P2PAddress string
	// Roles asked for; default every role (chain.AllRoles).
	Roles []string
}

// MakeJoinRequest builds home's join request from its keys, config and
// member file, signed with its member key.
func MakeJoinRequest(home string, o JoinRequestOptions) (*genesis.JoinRequest, error) {
	info, err := ReadMemberInfo(home)
	if err != nil {
		return nil, err
	}
	c, err := LoadConfig(home)
	if err != nil {
		return nil, err
	}
	member, err := memberkey.Read(MemberKeyPath(home))
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	nk, err := p2p.LoadNodeKey(c.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("node: node key %s: %w", c.NodeKeyFile(), err)
	}
	b, err := os.ReadFile(c.PrivValidatorKeyFile())
	if err != nil {
		return nil, fmt.Errorf("node: consensus key: %w", err)
	}
	var key privval.FilePVKey
	if err := cmtjson.Unmarshal(b, &key); err != nil || key.PubKey == nil {
		return nil, fmt.Errorf("node: consensus key %s does not decode: %v", c.PrivValidatorKeyFile(), err)
	}
	addr := o.P2PAddress
	if addr == "" {
		addr = c.P2P.ExternalAddress
	}
	if addr == "" {
		addr = strings.TrimPrefix(c.P2P.ListenAddress, "tcp://")
	}
	return joinRequest(info, string(nk.ID()), key.PubKey.Bytes(), member, addr, o.Roles)
}

// JoinRequest is the join request of these keys for member info, its node
// advertising p2pAddr, asking for roles (default every role): what
// MakeJoinRequest builds from a home, for callers that hold the keys
// already (testnet init).
func (k *Keys) JoinRequest(info MemberInfo, p2pAddr string, roles []string) (*genesis.JoinRequest, error) {
	return joinRequest(&info, k.NodeID(), k.Validator.Key.PubKey.Bytes(), k.Member, p2pAddr, roles)
}

func joinRequest(info *MemberInfo, nodeID string, valPub []byte, member ed25519.PrivateKey, addr string, roles []string) (*genesis.JoinRequest, error) {
	if len(roles) == 0 {
		roles = chain.AllRoles
	}
	return genesis.NewJoinRequest(genesis.JoinRequestBody{
		ChainID:         info.ChainID,
		Member:          info.Member,
		Name:            info.Name,
		NodeID:          nodeID,
		P2PAddress:      addr,
		ValidatorPubKey: valPub,
		Roles:           roles,
	}, member)
}

// InstallResult describes what InstallGenesis did.
type InstallResult struct {
	Home        string   `json:"home"`
	GenesisFile string   `json:"genesis_file"`
	ChainID     string   `json:"chain_id"`
	Hash        string   `json:"hash"`
	Peers       []string `json:"persistent_peers"`
	// Member is this home's member in the genesis ("" when it is not in
	// it: a node that joins later, once governance admits it).
	Member string `json:"member,omitempty"`
}

// InstallGenesis checks a genesis and puts it in home's config (byte for
// byte, so its hash stays the one operators compared), and sets the
// persistent peers: every other member node with an advertised address, or
// peers when peers is not nil. It refuses to replace a different genesis.
func InstallGenesis(home string, raw []byte, peers []string) (*InstallResult, error) {
	sum, err := genesis.Summarize(raw)
	if err != nil {
		return nil, err
	}
	c, err := LoadConfig(home)
	if err != nil {
		return nil, err
	}
	nk, err := p2p.LoadNodeKey(c.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("node: node key %s: %w", c.NodeKeyFile(), err)
	}
	self := string(nk.ID())
	if info, err := ReadMemberInfo(home); err == nil && info.ChainID != sum.ChainID {
		return nil, fmt.Errorf("node: the genesis is for chain %q but %s was made for chain %q", sum.ChainID, home, info.ChainID)
	}
	if old, err := os.ReadFile(c.GenesisFile()); err == nil {
		if !bytes.Equal(old, raw) {
			return nil, fmt.Errorf("node: %s already has a different genesis (%s); refusing to replace it", home, c.GenesisFile())
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("node: %w", err)
	}
	res := &InstallResult{Home: home, GenesisFile: c.GenesisFile(), ChainID: sum.ChainID, Hash: sum.Hash}
	for _, m := range sum.Members {
		if slices.Contains(m.NodeIDs, self) {
			res.Member = m.ID
		}
	}
	if peers == nil {
		peers = GenesisPeers(sum, self)
	}
	o := ConfigOptions{PersistentPeers: peers}
	if err := ValidateConfigOptions(o); err != nil {
		return nil, err
	}
	res.Peers = peers
	if err := atomicfile.WriteFile(c.GenesisFile(), raw, 0o600); err != nil {
		return nil, fmt.Errorf("node: writing genesis: %w", err)
	}
	if c.P2P.LibP2PEnabled() {
		return res, nil // libp2p peers are not node-ID peers; leave them
	}
	c.P2P.PersistentPeers = strings.Join(peers, ",")
	if err := WriteConfig(c); err != nil {
		return nil, err
	}
	return res, nil
}

// GenesisPeers are the NODEID@host:port of every member node of a genesis
// that advertises an address, except self.
func GenesisPeers(sum *genesis.Summary, self string) []string {
	peers := []string{}
	for _, m := range sum.Members {
		if m.P2PAddress == "" {
			continue
		}
		for _, n := range m.NodeIDs {
			if n != self {
				peers = append(peers, n+"@"+m.P2PAddress)
			}
		}
	}
	return peers
}

// JoinOptions describe how a new node joins a running network.
type JoinOptions struct {
	// Genesis is the network's genesis.json, byte for byte.
	Genesis []byte
	// RPCServers are two or more independent RPC URLs of the network's
	// nodes: the checkpoint must agree on all of them, and CometBFT's state
	// sync light client verifies snapshots against them.
	RPCServers []string
	// Peers override the persistent peers taken from the genesis.
	Peers []string
	// TrustPeriod is the light client's trusting period (default 168h).
	TrustPeriod time.Duration
	// Checkpoint fetches the trusted height and hash; default
	// client.TrustedCheckpoint.
	Checkpoint func(ctx context.Context, rpcURLs []string) (int64, []byte, error)
}

// JoinResult describes what Join configured.
type JoinResult struct {
	InstallResult
	RPCServers  []string `json:"rpc_servers"`
	TrustHeight int64    `json:"trust_height"`
	TrustHash   string   `json:"trust_hash"`
	TrustPeriod string   `json:"trust_period"`
}

// Join prepares home (made with InitKeysOnly, never started) to join a
// running network by state sync: it installs the genesis, fetches a recent
// trusted height and header hash that every RPC server agrees on, and
// writes CometBFT's state sync settings (enable, rpc_servers, trust height,
// hash and period) and the peers. Starting the node then restores the
// newest snapshot its peers offer, verified against the light client, and
// catches up from there.
func Join(ctx context.Context, home string, o JoinOptions) (*JoinResult, error) {
	if len(o.RPCServers) < 2 {
		return nil, errors.New("node: join needs at least two RPC servers (--rpc URL,URL) of independent nodes")
	}
	if entries, err := os.ReadDir(filepath.Join(home, AppDBDir)); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("node: %s already holds application state (%s): state sync needs a fresh home", home, AppDBDir)
	}
	if _, err := os.Stat(filepath.Join(home, "data", "blockstore.db")); err == nil {
		return nil, fmt.Errorf("node: %s already holds blocks: state sync needs a fresh home", home)
	}
	if _, err := genesis.Summarize(o.Genesis); err != nil {
		return nil, err
	}
	checkpoint := o.Checkpoint
	if checkpoint == nil {
		checkpoint = client.TrustedCheckpoint
	}
	height, hash, err := checkpoint(ctx, o.RPCServers)
	if err != nil {
		return nil, fmt.Errorf("node: trusted checkpoint: %w", err)
	}
	inst, err := InstallGenesis(home, o.Genesis, o.Peers)
	if err != nil {
		return nil, err
	}
	c, err := LoadConfig(home)
	if err != nil {
		return nil, err
	}
	ss := c.StateSync
	ss.Enable = true
	ss.RPCServers = slices.Clone(o.RPCServers)
	ss.TrustHeight = height
	ss.TrustHash = hex.EncodeToString(hash)
	if o.TrustPeriod > 0 {
		ss.TrustPeriod = o.TrustPeriod
	}
	// A permissioned network's peers answer snapshot requests as soon as
	// they connect; no need for CometBFT's 15 s of discovery.
	ss.DiscoveryTime = 5 * time.Second
	if err := WriteConfig(c); err != nil {
		return nil, err
	}
	return &JoinResult{InstallResult: *inst, RPCServers: ss.RPCServers, TrustHeight: height,
		TrustHash: ss.TrustHash, TrustPeriod: ss.TrustPeriod.String()}, nil
}
