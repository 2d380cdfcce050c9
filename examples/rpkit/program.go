package rpkit

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/idledger/idledger/presentation"
	"github.com/idledger/idledger/signer"
	"github.com/idledger/idledger/verifier"
)

// Main runs an example program: run gets the command-line arguments and
// standard output, under a timeout. An error is printed as "name: error"
// and the program exits 1.
func Main(name string, timeout time.Duration, run func(ctx context.Context, args []string, stdout io.Writer) error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Present is the holder's side: a fresh challenge from the relying party,
// and a presentation the holder's card or phone (signerSpec, as
// signer.Open takes it: soft:KEY,CERT or plugin:NAME) signs now, bound to
// the chain, the challenge and the relying party's name (audience).
func Present(ctx context.Context, signerSpec, chainID, audience string) (raw, challenge []byte, err error) {
	challenge, err = NewChallenge()
	if err != nil {
		return nil, nil, err
	}
	card, err := signer.Open(signerSpec)
	if err != nil {
		return nil, nil, err
	}
	raw, err = presentation.Make(ctx, card, presentation.Request{ChainID: chainID, Challenge: challenge, Audience: audience, Time: time.Now()})
	if err != nil {
		return nil, nil, err
	}
	return raw, challenge, nil
}

// StoreFlags are the flags of a gate that answers from a verifier store:
// --store (the store's directory), and, to sync it first while online,
// --rpc with, for a new store, its checkpoint --trust-height and
// --trust-hash.
type StoreFlags struct {
	Dir         *string
	RPC         *string
	TrustHeight *int64
	TrustHash   *string
}

// AddStoreFlags defines the StoreFlags on fs; the store's directory
// defaults to defaultDir.
func AddStoreFlags(fs *flag.FlagSet, defaultDir string) *StoreFlags {
	return &StoreFlags{
		Dir:         fs.String("store", defaultDir, "the gate's verifier store directory"),
		RPC:         fs.String("rpc", "", "sync the store from this node first (omit: offline)"),
		TrustHeight: fs.Int64("trust-height", 0, "checkpoint height of a new store"),
		TrustHash:   fs.String("trust-hash", "", "checkpoint block hash of a new store (hex)"),
	}
}

// SyncAndOpen syncs the store when --rpc is given (Sync; it says so on
// out), then opens it for the gate (OpenGate): from here on the gate works
// offline. It returns the store and its chain ID.
func (f *StoreFlags) SyncAndOpen(ctx context.Context, out io.Writer) (*verifier.Store, string, error) {
	if *f.RPC != "" {
		h, err := hex.DecodeString(*f.TrustHash)
		if err != nil {
			return nil, "", fmt.Errorf("--trust-hash: %w", err)
		}
		height, err := Sync(ctx, *f.Dir, *f.RPC, *f.TrustHeight, h)
		if err != nil {
			return nil, "", err
		}
		fmt.Fprintf(out, "synced: store verified to block %d; the gate now works offline\n", height)
	}
	return OpenGate(*f.Dir)
}
