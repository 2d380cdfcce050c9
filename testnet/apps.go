package testnet

import (
	"fmt"
	"path/filepath"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
)

// KVStoreDBDir is where a kvstore node keeps the app's database, in its
// home.
const KVStoreDBDir = "data/kvstore"

// AppFactory returns what node.StartOptions.App needs to run the named
// application: nil for AppIdledger (the node's own), CometBFT's kvstore
// example application (persistent, in HOME/data/kvstore) for AppKVStore.
// kvstore exists only to measure idledger against: it accepts any
// "key=value" transaction, checks nothing and hashes a size counter.
func AppFactory(name string) (func(home string) (abci.Application, error), error) {
	switch name {
	case "", AppIdledger:
		return nil, nil
	case AppKVStore:
		return func(home string) (app abci.Application, err error) {
			defer func() {
				// NewPersistentApplication panics when it cannot open its database.
				if r := recover(); r != nil {
					err = fmt.Errorf("kvstore: %v", r)
				}
			}()
			return kvstore.NewPersistentApplication(filepath.Join(home, KVStoreDBDir)), nil
		}, nil
	default:
		return nil, fmt.Errorf("testnet: app %q: want %s or %s", name, AppIdledger, AppKVStore)
	}
}
