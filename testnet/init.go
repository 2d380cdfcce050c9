package testnet

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/internal/atomicfile"
	"github.com/idledger/idledger/memberkey"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/testca"
)

// Defaults of InitOptions.
const (
	DefaultValidators = 4
	DefaultHolders    = 5
	DefaultChainID    = "idledger-testnet"
	// DefaultBasePort is node 0's p2p port: node I listens for p2p on
	// DefaultBasePort+10*I, RPC on +1 and Prometheus on +4 (so node 0 has
	// CometBFT's usual 26656, 26657 and 26660).
	DefaultBasePort = 26656
	// MaxValidators bounds a testnet on one machine.
	MaxValidators = 16
	// MaxHolders bounds the test card holders Init makes (RSA keys are slow
	// to generate).
	MaxHolders = 100
)

// ManifestFile is the manifest's name in a testnet directory.
const ManifestFile = "testnet.json"

// Apps a testnet can run: idledger's, or CometBFT's kvstore example for
// comparisons.
const (
	AppIdledger = "idledger"
	AppKVStore  = "kvstore"
)

// Transports the validators can talk over: CometBFT's own (TCP, the
// default) or its experimental go-libp2p one (QUIC over UDP, on the same
// port numbers).
const (
	TransportComet  = "comet"
	TransportLibP2P = "libp2p"
)

// ValidatorPower is every testnet validator's voting power.
const ValidatorPower = 10

// Manifest is DIR/testnet.json: what Init made. Paths are relative to DIR.
type Manifest struct {
	Version int    `json:"version"`
	ChainID string `json:"chain_id"`
	App     string `json:"app"`
	// Transport is TransportComet or TransportLibP2P; "" (manifests made
	// before there was a choice) means TransportComet.
	Transport string    `json:"transport,omitempty"`
	Created   time.Time `json:"created"`
	CADir     string    `json:"ca_dir"`
	Holders   []string  `json:"holders"`
	Nodes     []Node    `json:"nodes"`
}

// Node is one validator of a testnet.
type Node struct {
	Name   string `json:"name"`
	Home   string `json:"home"`
	NodeID string `json:"node_id"`
	Member string `json:"member"`
	// LoadMembers are extra attester members whose transactions testnet
	// load sends to this node, each its own sender with its own sequence
	// (keys in HOME/config/load_member_K.pem).
	LoadMembers []string `json:"load_members,omitempty"`
	RPC         string   `json:"rpc"` // host:port
	P2P         string   `json:"p2p"` // host:port (UDP for libp2p's QUIC)
	// LibP2PID is the node's libp2p peer ID, on a libp2p testnet.
	LibP2PID   string `json:"libp2p_id,omitempty"`
	Prometheus string `json:"prometheus"`
}

// RPCURL is the node's RPC URL.
func (n Node) RPCURL() string { return "http://" + n.RPC }

// TransportName is m's transport, TransportComet when the manifest names
// none.
func (m *Manifest) TransportName() string {
	if m.Transport == "" {
		return TransportComet
	}
	return m.Transport
}

// InitOptions describe a new testnet.
type InitOptions struct {
	// Dir is the testnet directory; it may exist but must be empty.
	Dir string
	// Validators is the number of validator nodes (default
	// DefaultValidators); Holders the number of test card holders (default
	// DefaultHolders).
	Validators, Holders int
	// ChainID defaults to DefaultChainID.
	ChainID string
	// BasePort is node 0's p2p port (see DefaultBasePort); 0 picks free
	// ports from the system instead (tests).
	BasePort int
	// App is AppIdledger (default) or AppKVStore.
	App string
	// Transport is TransportComet (default) or TransportLibP2P.
	Transport string
	// ClaimTypes are registered in the genesis for every member (nil: the
	// founding types kyc, ticket and fare-eligibility).
	ClaimTypes []string
	// Progress, if set, receives a line per step.
	Progress io.Writer
}

// LoadClaimType is the claim type testnet load attests; every testnet
// registers it beside InitOptions.ClaimTypes.
const LoadClaimType = "load"

// memberID is node i's member organisation.
func memberID(i int) string { return "org" + strconv.Itoa(i) }

// Init makes a testnet in opts.Dir: a test JPKI CA and its holders
// (holder1, holder2, ...), and for each validator a node home with fresh
// node, consensus and member keys, fast consensus timeouts, a mempool sized
// for load, and every other node as a persistent peer. The one genesis
// names every validator (equal power) and one member organisation per
// validator (orgI: every role, nodeI's node ID and consensus key), trusts
// the test CA, and sets the governor threshold to a majority. Init checks
// that the ports are free and refuses a directory that is not empty; on
// failure it removes what it wrote.
func Init(opts InitOptions) (m *Manifest, err error) {
	if opts.Dir == "" {
		return nil, errors.New("testnet: no directory given")
	}
	if opts.Validators == 0 {
		opts.Validators = DefaultValidators
	}
	if opts.Holders == 0 {
		opts.Holders = DefaultHolders
	}
	if opts.ChainID == "" {
		opts.ChainID = DefaultChainID
	}
	if opts.App == "" {
		opts.App = AppIdledger
	}
	if opts.Transport == "" {
		opts.Transport = TransportComet
	}
	switch {
	case opts.Validators < 1 || opts.Validators > MaxValidators:
		return nil, fmt.Errorf("testnet: %d validators: want 1 to %d", opts.Validators, MaxValidators)
	case opts.Holders < 1 || opts.Holders > MaxHolders:
		return nil, fmt.Errorf("testnet: %d holders: want 1 to %d", opts.Holders, MaxHolders)
	case opts.App != AppIdledger && opts.App != AppKVStore:
		return nil, fmt.Errorf("testnet: app %q: want %s or %s", opts.App, AppIdledger, AppKVStore)
	case opts.Transport != TransportComet && opts.Transport != TransportLibP2P:
		return nil, fmt.Errorf("testnet: transport %q: want %s or %s", opts.Transport, TransportComet, TransportLibP2P)
	case opts.BasePort < 0 || opts.BasePort+10*opts.Validators > 65535:
		return nil, fmt.Errorf("testnet: base port %d: want 0 (free ports) or 1-%d", opts.BasePort, 65535-10*opts.Validators)
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	created, err := checkEmptyDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err == nil {
			return
		}
		if created {
			os.RemoveAll(opts.Dir)
			return
		}
		entries, _ := os.ReadDir(opts.Dir)
		for _, e := range entries {
			os.RemoveAll(filepath.Join(opts.Dir, e.Name()))
		}
	}()

	libp2p := opts.Transport == TransportLibP2P
	ports, err := allocatePorts(opts.BasePort, opts.Validators, libp2p)
	if err != nil {
		return nil, err
	}

	m = &Manifest{Version: 1, ChainID: opts.ChainID, App: opts.App, Transport: opts.Transport, Created: time.Now().UTC().Truncate(time.Second), CADir: "ca"}
	fmt.Fprintf(progress, "making a test JPKI CA and %d card holders in %s\n", opts.Holders, filepath.Join(opts.Dir, m.CADir))
	ca, err := testca.Init(filepath.Join(opts.Dir, m.CADir), testca.InitOptions{})
	if err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	if m.Holders, err = issueHolders(ca, opts.Holders); err != nil {
		return nil, err
	}

	fmt.Fprintf(progress, "making %d validator homes\n", opts.Validators)
	cfgs := make([]*cmtcfg.Config, opts.Validators)
	keys := make([]*node.Keys, opts.Validators)
	for i := range cfgs {
		n := Node{
			Name:       "node" + strconv.Itoa(i),
			Member:     memberID(i),
			P2P:        ports[i][0],
			RPC:        ports[i][1],
			Prometheus: ports[i][2],
		}
		n.Home = n.Name
		c := nodeConfig(filepath.Join(opts.Dir, n.Home), n, libp2p, nil)
		if err := node.WriteConfig(c); err != nil {
			return nil, fmt.Errorf("testnet: %w", err)
		}
		if err := node.WriteAppConfig(c.RootDir, node.DefaultAppConfig()); err != nil {
			return nil, fmt.Errorf("testnet: %w", err)
		}
		if keys[i], err = node.GenerateKeys(c); err != nil {
			return nil, fmt.Errorf("testnet: %w", err)
		}
		n.NodeID = keys[i].NodeID()
		if libp2p {
			if n.LibP2PID, err = node.LibP2PID(keys[i].NodeKey); err != nil {
				return nil, fmt.Errorf("testnet: %w", err)
			}
		}
		cfgs[i] = c
		m.Nodes = append(m.Nodes, n)
	}
	// On libp2p, the peers are libp2p IDs, which the genesis does not
	// record: set them now that every node's is known.
	if libp2p {
		for i, n := range m.Nodes {
			var peers []string
			for j, p := range m.Nodes {
				if j != i {
					peers = append(peers, p.LibP2PID+"@"+p.P2P)
				}
			}
			cfgs[i] = nodeConfig(filepath.Join(opts.Dir, n.Home), n, libp2p, peers)
			if err := node.WriteConfig(cfgs[i]); err != nil {
				return nil, fmt.Errorf("testnet: %w", err)
			}
		}
	}

	// The genesis ceremony's steps, on one machine: a join request per
	// organisation, the genesis assembled from them, and installed in
	// every home (which makes the other nodes persistent peers).
	doc, err := testnetGenesis(opts, m, keys)
	if err != nil {
		return nil, err
	}
	raw, err := cmtjson.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	for _, n := range m.Nodes {
		if _, err := node.InstallGenesis(filepath.Join(opts.Dir, n.Home), append(raw, '\n'), nil); err != nil {
			return nil, fmt.Errorf("testnet: %w", err)
		}
	}
	if err := writeManifest(opts.Dir, m); err != nil {
		return nil, err
	}
	return m, nil
}

// nodeConfig is a testnet node's CometBFT configuration: node.NewConfig
// with fast consensus, the peers as persistent peers (or, with libp2p, as
// persistent libp2p bootstrap peers), then a mempool and p2p rates sized
// for testnet load.
func nodeConfig(home string, n Node, libp2p bool, peers []string) *cmtcfg.Config {
	o := node.ConfigOptions{
		Moniker:        n.Name,
		RPCAddr:        n.RPC,
		P2PAddr:        n.P2P,
		PrometheusAddr: n.Prometheus,
		Fast:           true,
		LogLevel:       "info",
	}
	if libp2p {
		o.LibP2P, o.LibP2PPeers = true, peers
	} else {
		o.PersistentPeers = peers
	}
	c := node.NewConfig(home, o)
	c.Mempool.Size = 50000
	c.Mempool.CacheSize = 200000
	c.P2P.SendRate = 50 << 20
	c.P2P.RecvRate = 50 << 20
	c.RPC.MaxOpenConnections = 0 // unlimited: load generators open several
	return c
}

func testnetGenesis(opts InitOptions, m *Manifest, keys []*node.Keys) (*cmttypes.GenesisDoc, error) {
	anchors, err := node.ReadAnchorFiles([]string{filepath.Join(opts.Dir, m.CADir, testca.CertFile)})
	if err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	var reqs []*genesis.JoinRequest
	for i, k := range keys {
		n := m.Nodes[i]
		r, err := k.JoinRequest(node.MemberInfo{ChainID: m.ChainID, Member: n.Member, Name: "Testnet organisation " + strconv.Itoa(i)}, n.P2P, chain.AllRoles)
		if err != nil {
			return nil, fmt.Errorf("testnet: %w", err)
		}
		reqs = append(reqs, r)
	}
	st, vals, err := genesis.Assemble(genesis.AssembleOptions{ChainID: m.ChainID, Anchors: anchors, ValidatorPower: ValidatorPower}, reqs)
	if err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	for i := range keys {
		n := &m.Nodes[i]
		vals[i].Name = n.Name
		for j := 1; j <= LoadMembersPerNode; j++ {
			_, key, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return nil, fmt.Errorf("testnet: %w", err)
			}
			if err := memberkey.Write(loadMemberKeyPath(opts.Dir, *n, j), key); err != nil {
				return nil, fmt.Errorf("testnet: %w", err)
			}
			id := fmt.Sprintf("%s-l%d", n.Member, j)
			n.LoadMembers = append(n.LoadMembers, id)
			st.Members = append(st.Members, genesis.Member{ID: id, Name: "load sender " + strconv.Itoa(j) + " of " + n.Member,
				PubKey: key.Public().(ed25519.PublicKey), Roles: []string{chain.RoleAttester}})
		}
	}
	var attesters []string
	for _, mem := range st.Members {
		attesters = append(attesters, mem.ID)
	}
	st.ClaimTypes = genesis.FoundingClaimTypes(opts.ClaimTypes, attesters, time.Duration(st.Params.MaxAttestationLifetime))
	if !slices.ContainsFunc(st.ClaimTypes, func(c genesis.ClaimType) bool { return c.Name == LoadClaimType }) {
		// The load generator's claim type.
		st.ClaimTypes = append(st.ClaimTypes, genesis.FoundingClaimTypes([]string{LoadClaimType}, attesters, time.Duration(st.Params.MaxAttestationLifetime))...)
	}
	doc, err := genesis.NewDoc(m.ChainID, time.Now().UTC().Truncate(time.Millisecond), vals, st)
	if err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	return doc, nil
}

// issueHolders issues holder1..holderN, generating their RSA keys on every
// core.
func issueHolders(ca *testca.CA, n int) ([]string, error) {
	names := make([]string, n)
	errs := make([]error, n)
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for i := range names {
		names[i] = "holder" + strconv.Itoa(i+1)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, errs[i] = ca.Issue(testca.IssueOptions{Name: names[i]})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	return names, nil
}

// checkEmptyDir makes dir if it does not exist (reporting created) and
// refuses one that holds anything.
func checkEmptyDir(dir string) (created bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, fmt.Errorf("testnet: %w", err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("testnet: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err == nil {
		return false, fmt.Errorf("testnet: %s already holds a testnet; start it, or remove the directory for a new one", dir)
	}
	if len(entries) > 0 {
		return false, fmt.Errorf("testnet: %s is not empty; refusing to write a testnet into it", dir)
	}
	return false, nil
}

// allocatePorts returns each node's p2p, RPC and Prometheus addresses:
// from base (checked free) or, when base is 0, free ports the system picks.
// With udpP2P the p2p port must be free for UDP as well (libp2p's QUIC).
func allocatePorts(base, n int, udpP2P bool) ([][3]string, error) {
	out := make([][3]string, n)
	var held []io.Closer
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	if base == 0 {
		for i := range out {
			for j := range out[i] {
				for try := 0; ; try++ {
					l, err := net.Listen("tcp", "127.0.0.1:0")
					if err != nil {
						return nil, fmt.Errorf("testnet: finding a free port: %w", err)
					}
					held = append(held, l)
					addr := l.Addr().String()
					if j == 0 && udpP2P {
						u, err := net.ListenPacket("udp", addr)
						if err != nil {
							if try < 20 {
								continue // free for TCP only; another
							}
							return nil, fmt.Errorf("testnet: finding a free UDP port: %w", err)
						}
						held = append(held, u)
					}
					out[i][j] = addr
					break
				}
			}
		}
		return out, nil
	}
	for i := range out {
		for j, off := range []int{0, 1, 4} {
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(base+10*i+off))
			l, err := net.Listen("tcp", addr)
			if err == nil {
				held = append(held, l)
				if j == 0 && udpP2P {
					var u net.PacketConn
					if u, err = net.ListenPacket("udp", addr); err == nil {
						held = append(held, u)
					}
				}
			}
			if err != nil {
				return nil, fmt.Errorf("testnet: port %s is taken (another testnet or node running?); choose other ports with a different base port, or 0 for free ones", addr)
			}
			out[i][j] = addr
		}
	}
	return out, nil
}

func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	path := filepath.Join(dir, ManifestFile)
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	return nil
}

// readManifestAbs makes dir absolute, so that the nodes' command lines
// name their homes the same whatever directory a later command runs from,
// and reads its manifest.
func readManifestAbs(dir string) (string, *Manifest, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, fmt.Errorf("testnet: %w", err)
	}
	m, err := ReadManifest(dir)
	return dir, m, err
}

// ReadManifest reads DIR/testnet.json.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("testnet: %s holds no testnet (no %s); make one with idledger testnet init or up", dir, ManifestFile)
	}
	if err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	m := new(Manifest)
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("testnet: %s: %w", path, err)
	}
	if m.Version != 1 || len(m.Nodes) == 0 {
		return nil, fmt.Errorf("testnet: %s: unknown version %d or no nodes", path, m.Version)
	}
	return m, nil
}

// Exists reports whether dir holds a testnet manifest.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ManifestFile))
	return err == nil
}

// MemberKey reads node i's member key (its organisation's ed25519 key).
func (m *Manifest) MemberKey(dir string, i int) (ed25519.PrivateKey, error) {
	return memberkey.Read(node.MemberKeyPath(filepath.Join(dir, m.Nodes[i].Home)))
}

// LoadMembersPerNode is how many load-sender members testnet init makes
// for each node besides its organisation.
const LoadMembersPerNode = 3

func loadMemberKeyPath(dir string, n Node, j int) string {
	return filepath.Join(dir, n.Home, "config", fmt.Sprintf("load_member_%d.pem", j))
}

// LoadMemberKey reads the key of node i's j-th load member (1-based).
func (m *Manifest) LoadMemberKey(dir string, i, j int) (ed25519.PrivateKey, error) {
	return memberkey.Read(loadMemberKeyPath(dir, m.Nodes[i], j))
}
