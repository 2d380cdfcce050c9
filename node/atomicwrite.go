package node

import (
	"fmt"
	"os"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	cmttypes "github.com/cometbft/cometbft/types"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/idledger/idledger/internal/atomicfile"
)

// CometBFT's own writers for these files (NodeKey.SaveAs, GenesisDoc.SaveAs,
// config.WriteConfigFile) write in place without fsync, so a crash can leave
// an empty or torn file. These write the same bytes through atomicfile.
// (FilePV.Save already writes atomically.)

// saveNodeKey writes nk to path, refusing to overwrite an existing key.
func saveNodeKey(nk *p2p.NodeKey, path string) error {
	b, err := cmtjson.Marshal(nk)
	if err != nil {
		return err
	}
	return atomicfile.WriteNew(path, b, 0o600)
}

// SaveGenesis writes doc to path crash-safe, in CometBFT's JSON encoding.
func SaveGenesis(doc *cmttypes.GenesisDoc, path string) error {
	b, err := cmtjson.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o644)
}

// writeConfigFile renders c with CometBFT's template and replaces path
// crash-safe. CometBFT only renders to a file, so it renders to a scratch
// file in the temporary directory first.
func writeConfigFile(path string, c *cmtcfg.Config) error {
	f, err := os.CreateTemp(os.TempDir(), "idledger-config-*.toml")
	if err != nil {
		return err
	}
	scratch := f.Name()
	f.Close()
	defer os.Remove(scratch)
	if err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%v", r)
			}
		}()
		cmtcfg.WriteConfigFile(scratch, c)
		return nil
	}(); err != nil {
		return err
	}
	b, err := os.ReadFile(scratch)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o644)
}
