package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/memberkey"
)

// DefaultMemberID is the operator's member ID when InitOptions.MemberID is
// empty.
const DefaultMemberID = "operator"

// ValidatorPower is the voting power Init gives the single validator.
const ValidatorPower = 10

// InitOptions describe a new single-validator home.
type InitOptions struct {
	// Home is the directory to make; it may exist but must not hold a node.
	Home string
	// ChainID names the chain (at most 50 characters).
	ChainID string
	// MemberID is the operator's member ID (default DefaultMemberID); the
	// operator holds every role (chain.AllRoles). MemberName is its
	// display name (optional).
	MemberID, MemberName string
	// AnchorFiles are PEM files of JPKI root CA certificates; each
	// certificate's kind (auth or sign) comes from jpki.ParseAnchor. At
	// least one auth anchor is needed.
	AnchorFiles []string
	// Params are the chain parameters; nil means genesis.DefaultParams().
	Params *genesis.Params
	// GenesisTime defaults to now.
	GenesisTime time.Time
	// ClaimTypes are registered in the genesis for the operator (nil: the
	// founding types kyc, ticket and fare-eligibility; docs/claim-types.md).
	ClaimTypes []string
	// Config sets ports, moniker, timing and logging.
	Config ConfigOptions
	// App is the application's settings (snapshots); nil means
	// DefaultAppConfig().
	App *AppConfig
	// KeysOnly makes the keys, the config and the member file for a genesis
	// ceremony and no genesis (see InitKeysOnly); AnchorFiles and Params are
	// not used.
	KeysOnly bool
}

// InitResult describes the home Init made.
type InitResult struct {
	Home          string `json:"home"`
	ChainID       string `json:"chain_id"`
	NodeID        string `json:"node_id"`
	MemberID      string `json:"member_id"`
	MemberKeyFile string `json:"member_key_file"`
	GenesisFile   string `json:"genesis_file"`
	ConfigFile    string `json:"config_file"`
	RPCURL        string `json:"rpc_url"`
	// ValidatorAddress is the consensus key's address (hex).
	ValidatorAddress string   `json:"validator_address"`
	Anchors          []string `json:"anchors"` // "kind: subject" of each trust anchor
}

// Keys are a node's freshly generated keys, already written to its home.
type Keys struct {
	NodeKey   *p2p.NodeKey
	Validator *privval.FilePV
	Member    ed25519.PrivateKey
}

// NodeID returns the p2p node ID.
func (k *Keys) NodeID() string { return string(k.NodeKey.ID()) }

// GenesisValidator returns the validator entry of these keys for a genesis.
func (k *Keys) GenesisValidator(name string, power int64) cmttypes.GenesisValidator {
	pub := k.Validator.Key.PubKey
	return cmttypes.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: power, Name: name}
}

// GenesisMember returns a genesis member entry for these keys: the member
// key, the node ID, and roles.
func (k *Keys) GenesisMember(id, name string, roles []string) genesis.Member {
	return genesis.Member{
		ID:      id,
		Name:    name,
		PubKey:  k.Member.Public().(ed25519.PublicKey),
		Roles:   roles,
		NodeIDs: []string{k.NodeID()},
	}
}

// homeFiles are the files whose presence means "a node lives here".
var homeFiles = []string{
	ConfigFile, GenesisFile, MemberKeyFile, AppConfigFile, MemberInfoFile,
	"config/node_key.json", "config/priv_validator_key.json", "data/priv_validator_state.json",
}

// CheckEmptyHome returns an error if home already holds (part of) a node.
func CheckEmptyHome(home string) error {
	for _, f := range homeFiles {
		p := filepath.Join(home, f)
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("node: %s already holds a node (%s exists); refusing to overwrite it", home, f)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("node: %w", err)
		}
	}
	if entries, err := os.ReadDir(filepath.Join(home, AppDBDir)); err == nil && len(entries) > 0 {
		return fmt.Errorf("node: %s already holds application state (%s); refusing to overwrite it", home, AppDBDir)
	}
	return nil
}

// GenerateKeys makes a node's keys and writes them to c's home: the node
// key, the consensus key with an empty sign state, and the member key. It
// refuses to overwrite any of them.
func GenerateKeys(c *cmtcfg.Config) (keys *Keys, err error) {
	for _, p := range []string{c.NodeKeyFile(), c.PrivValidatorKeyFile(), c.PrivValidatorStateFile(), MemberKeyPath(c.RootDir)} {
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("node: %s exists; refusing to overwrite it", p)
		}
		if err := os.MkdirAll(filepath.Dir(p), cmtcfg.DefaultDirPerm); err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
	}
	_, member, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("node: member key: %w", err)
	}
	nk := &p2p.NodeKey{PrivKey: cmted25519.GenPrivKey()}
	pv := privval.NewFilePV(cmted25519.GenPrivKey(), c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())

	if err := saveNodeKey(nk, c.NodeKeyFile()); err != nil {
		return nil, fmt.Errorf("node: node key: %w", err)
	}
	// FilePV.Save panics on failure.
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("node: consensus key: %v", r)
			}
		}()
		pv.Save()
	}()
	if err != nil {
		return nil, err
	}
	if err := memberkey.Write(MemberKeyPath(c.RootDir), member); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	return &Keys{NodeKey: nk, Validator: pv, Member: member}, nil
}

// MemberKeyPath is the member key file of home.
func MemberKeyPath(home string) string { return filepath.Join(home, MemberKeyFile) }

// ReadAnchorFiles reads PEM trust anchor files into genesis anchors, in the
// order given. Each certificate's kind comes from jpki.ParseAnchor.
func ReadAnchorFiles(paths []string) ([]genesis.Anchor, error) {
	var out []genesis.Anchor
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("node: trust anchor: %w", err)
		}
		as, err := jpki.ParseAnchorsPEM(b)
		if err != nil {
			return nil, fmt.Errorf("node: trust anchor %s: %w", p, err)
		}
		for _, a := range as {
			name := jpki.KnownAnchorName(a.ID)
			if name == "" {
				name = a.Cert.Subject.String()
			}
			out = append(out, genesis.Anchor{Kind: a.Kind.String(), Name: name, Certificate: a.Raw})
		}
	}
	return out, nil
}

// Init makes a single-validator home: config.toml from NewConfig, fresh
// node, consensus and member keys, and a genesis whose only member is the
// operator (every role, this node's ID) and whose trust anchors are the
// given CA certificates. It checks everything it can before writing, and
// refuses a home that already holds a node.
func Init(opts InitOptions) (*InitResult, error) {
	if opts.Home == "" {
		return nil, errors.New("node: no home directory given")
	}
	if opts.ChainID == "" {
		return nil, errors.New("node: no chain ID given")
	}
	if opts.MemberID == "" {
		opts.MemberID = DefaultMemberID
	}
	if !chain.ValidMemberID(opts.MemberID) {
		return nil, fmt.Errorf("node: member ID %q: want 1-32 characters of a-z 0-9 -, starting with a letter or digit", opts.MemberID)
	}
	if opts.KeysOnly {
		return InitKeysOnly(opts)
	}
	appCfg := DefaultAppConfig()
	if opts.App != nil {
		appCfg = *opts.App
	}
	if err := appCfg.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	if len(opts.AnchorFiles) == 0 {
		return nil, errors.New("node: no trust anchor given (a PEM file of a JPKI user-authentication CA certificate)")
	}
	if err := ValidateConfigOptions(opts.Config); err != nil {
		return nil, err
	}
	if err := CheckEmptyHome(opts.Home); err != nil {
		return nil, err
	}
	anchors, err := ReadAnchorFiles(opts.AnchorFiles)
	if err != nil {
		return nil, err
	}
	params := genesis.DefaultParams()
	if opts.Params != nil {
		params = *opts.Params
	}
	if opts.GenesisTime.IsZero() {
		opts.GenesisTime = time.Now()
	}
	genesisTime := opts.GenesisTime.UTC().Truncate(time.Millisecond)

	c := NewConfig(opts.Home, opts.Config)
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("node: config: %w", err)
	}
	// Dry run of the genesis with placeholder keys, so that a bad chain ID,
	// anchor set or parameter is refused before anything is written.
	placeholder := &Keys{
		NodeKey:   &p2p.NodeKey{PrivKey: cmted25519.GenPrivKey()},
		Validator: privval.NewFilePV(cmted25519.GenPrivKey(), "", ""),
	}
	_, placeholder.Member, _ = ed25519.GenerateKey(rand.Reader)
	if _, err := singleValidatorGenesis(opts, params, anchors, placeholder, c.Moniker, genesisTime); err != nil {
		return nil, err
	}

	var doc *cmttypes.GenesisDoc
	keys, err := writeHome(opts.Home, c, appCfg, func(keys *Keys) error {
		var err error
		doc, err = singleValidatorGenesis(opts, params, anchors, keys, c.Moniker, genesisTime)
		if err != nil {
			return err
		}
		if err := SaveGenesis(doc, c.GenesisFile()); err != nil {
			return fmt.Errorf("node: writing genesis: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	res := newInitResult(opts.Home, doc.ChainID, opts.MemberID, c, keys)
	res.GenesisFile = c.GenesisFile()
	for _, a := range anchors {
		res.Anchors = append(res.Anchors, a.Kind+": "+a.Name)
	}
	return res, nil
}

// writeHome writes a fresh home: config.toml, app.toml and new keys, then
// whatever finish writes with those keys. On any failure it removes what it
// wrote (the whole home if it made the directory), so that a refused init
// can be run again.
func writeHome(home string, c *cmtcfg.Config, appCfg AppConfig, finish func(*Keys) error) (*Keys, error) {
	created := false
	if _, err := os.Stat(home); errors.Is(err, fs.ErrNotExist) {
		created = true
	}
	ok := false
	defer func() {
		switch {
		case ok:
		case created:
			os.RemoveAll(home)
		default:
			// CheckEmptyHome saw none of these: they are ours.
			for _, f := range homeFiles {
				os.Remove(filepath.Join(home, f))
			}
			os.Remove(filepath.Join(home, "config"))
			os.Remove(filepath.Join(home, "data"))
		}
	}()
	if err := WriteConfig(c); err != nil {
		return nil, err
	}
	if err := WriteAppConfig(home, appCfg); err != nil {
		return nil, err
	}
	keys, err := GenerateKeys(c)
	if err != nil {
		return nil, err
	}
	if err := finish(keys); err != nil {
		return nil, err
	}
	ok = true
	return keys, nil
}

// newInitResult is what both kinds of init report about the home they made.
func newInitResult(home, chainID, memberID string, c *cmtcfg.Config, keys *Keys) *InitResult {
	return &InitResult{
		Home:             home,
		ChainID:          chainID,
		NodeID:           keys.NodeID(),
		MemberID:         memberID,
		MemberKeyFile:    MemberKeyPath(home),
		ConfigFile:       filepath.Join(home, ConfigFile),
		RPCURL:           RPCURL(c),
		ValidatorAddress: strings.ToLower(keys.Validator.Key.Address.String()),
	}
}

func singleValidatorGenesis(opts InitOptions, params genesis.Params, anchors []genesis.Anchor, keys *Keys, moniker string, t time.Time) (*cmttypes.GenesisDoc, error) {
	st := &genesis.AppState{
		Params:  params,
		Members: []genesis.Member{keys.GenesisMember(opts.MemberID, opts.MemberName, append([]string(nil), chain.AllRoles...))},
		Anchors: anchors,
	}
	st.ClaimTypes = genesis.FoundingClaimTypes(opts.ClaimTypes, []string{opts.MemberID}, time.Duration(params.MaxAttestationLifetime))
	doc, err := genesis.NewDoc(opts.ChainID, t, []cmttypes.GenesisValidator{keys.GenesisValidator(moniker, ValidatorPower)}, st)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	return doc, nil
}
