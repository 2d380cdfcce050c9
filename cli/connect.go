package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/node"
)

// connect is the first step of a command that reads from a node and prints
// the answer: it checks -o before anything is asked, then makes the client
// for nodeURL.
func connect(o *output, nodeURL string, opts ...client.Option) (*client.Client, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	return client.New(nodeURL, opts...)
}

// connect is connect for a query subcommand: its -o and --node.
func (q *queryFlags) connect(opts ...client.Option) (*client.Client, error) {
	return connect(q.output, q.node, opts...)
}

// fetch is the whole read of a query subcommand that asks the node one
// thing: connect, then get, as in fetch(cmd, q, (*client.Client).Members).
func fetch[T any](cmd *cobra.Command, q *queryFlags, get func(*client.Client, context.Context) (T, error)) (T, error) {
	c, err := q.connect()
	if err != nil {
		var zero T
		return zero, err
	}
	return get(c, cmd.Context())
}

// trustFlags say where a light client starts: the genesis of a node home
// (--home), a genesis file (--genesis), or a block the user trusts
// (--trust-height and --trust-hash). Each command registers them with its
// own help text.
type trustFlags struct {
	home, genesis string
	height        int64
	hash          string
}

// trustSet reports whether --trust-height or --trust-hash was given.
func trustSet(fl *pflag.FlagSet) bool { return fl.Changed("trust-height") || fl.Changed("trust-hash") }

// root returns the client option that roots the light client where the
// flags say: the trusted block first, then --home's genesis, then
// --genesis; nil when none of them was given (the node's own genesis).
func (t *trustFlags) root(fl *pflag.FlagSet) (client.Option, error) {
	switch {
	case trustSet(fl):
		return trustedHeader(t.height, t.hash)
	case fl.Changed("home") || fl.Changed("genesis"):
		path := t.genesis
		if fl.Changed("home") {
			path = filepath.Join(t.home, node.GenesisFile)
		}
		doc, err := cmttypes.GenesisDocFromFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading the genesis: %w", err)
		}
		return client.WithGenesis(doc), nil
	}
	return nil, nil
}

// trustedHeader is the option for --trust-height and --trust-hash.
func trustedHeader(height int64, hashHex string) (client.Option, error) {
	h, err := hex.DecodeString(hashHex)
	if err != nil || len(h) != sha256.Size || height <= 0 {
		return nil, usagef("--trust-height and --trust-hash: want a positive height and the block's 64-hex-digit hash")
	}
	return client.WithTrustedHeader(height, h), nil
}
