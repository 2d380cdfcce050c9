package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/privval"

	"github.com/idledger/idledger/cli"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/valsigner"
)

// runSigner runs "idledger signer run" until the returned stop is called.
func runSigner(t *testing.T, args ...string) (stop func()) {
	t.Helper()
	stop, _, _ = background(t, append([]string{"signer", "run"}, args...)...)
	return stop
}

// TestValidatorSignsThroughRemoteSigner runs a validator whose consensus
// key is not in its home: the node listens on priv_validator_laddr and
// "idledger signer run" signs its blocks, also after a signer restart and
// after a node restart (the signer redials).
func TestValidatorSignsThroughRemoteSigner(t *testing.T) {
	e := nodetest.New(t, "remote-signer")
	c, err := node.LoadConfig(e.Home)
	if err != nil {
		t.Fatal(err)
	}
	signerDir := filepath.Join(e.Dir, "signer")
	if err := os.MkdirAll(signerDir, 0o700); err != nil {
		t.Fatal(err)
	}
	keyFile, stateFile := filepath.Join(signerDir, "key.json"), filepath.Join(signerDir, "state.json")
	if err := os.Rename(c.PrivValidatorKeyFile(), keyFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(c.PrivValidatorStateFile(), stateFile); err != nil {
		t.Fatal(err)
	}
	laddr := "tcp://" + nodetest.FreeAddr(t)
	c.PrivValidatorListenAddr = laddr
	if err := node.WriteConfig(c); err != nil {
		t.Fatal(err)
	}
	signerArgs := []string{"--home", e.Home, "--node", laddr, "--key", keyFile, "--state", stateFile}
	stopSigner := runSigner(t, signerArgs...)
	url := node.RPCURL(c)
	stopNode := startNode(t, e.Home, url)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	nodetest.WaitHeight(ctx, t, url, 3)
	b, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := valsigner.ParseState(b)
	if err != nil || st.Height < 2 {
		t.Fatalf("signer state %+v, %v: want a height ≥ 2 signed", st, err)
	}

	// The signer restarts; the node's next requests reach the new one.
	stopSigner()
	runSigner(t, signerArgs...)
	cl := rpcClient(t, url)
	s, err := cl.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nodetest.WaitHeight(ctx, t, url, s.SyncInfo.LatestBlockHeight+3)

	// The node restarts; the signer redials it.
	stopNode()
	startNode(t, e.Home, url)
	// A new client: the old one may keep a connection to the stopped
	// node's RPC server, which CometBFT does not close in-process.
	cl = rpcClient(t, url)
	if s, err = cl.Status(ctx); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitHeight(ctx, t, url, s.SyncInfo.LatestBlockHeight+3)
}

// TestSignerRunRefusesMissingState: "signer run" with a key but no sign
// state refuses to start (it would sign from height 0: a double sign after
// a key moved without its state); --new-state starts a fresh validator.
func TestSignerRunRefusesMissingState(t *testing.T) {
	dir := t.TempDir()
	keyFile, stateFile := filepath.Join(dir, "key.json"), filepath.Join(dir, "state.json")
	privval.GenFilePV(keyFile, stateFile).Save()
	if err := os.Remove(stateFile); err != nil {
		t.Fatal(err)
	}
	args := []string{"signer", "run", "--home", dir, "--node", "tcp://" + nodetest.FreeAddr(t),
		"--key", keyFile, "--state", stateFile, "--chain-id", "signer-test"}
	// Bounded: a signer that wrongly starts runs until its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errs bytes.Buffer
	if code := cli.Main(ctx, args, &out, &errs); code != cli.ExitFailure || !strings.Contains(errs.String(), "no sign state") ||
		!strings.Contains(errs.String(), "--new-state") || strings.Count(errs.String(), "\n") != 1 {
		t.Fatalf("signer run without a sign state: exit %d, stderr %q; want exit 1 and one error line about --new-state", code, errs.String())
	}
	if _, err := os.Stat(stateFile); !os.IsNotExist(err) {
		t.Fatalf("a refused signer run created the state file: %v", err)
	}

	_, help, _ := run(t, "signer", "run", "--help")
	if !strings.Contains(help, "--new-state") || !strings.Contains(help, "double sign") {
		t.Errorf("signer run --help does not explain --new-state:\n%s", help)
	}

	runSigner(t, append(args[2:], "--new-state")...)
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(stateFile)
		if err == nil {
			if st, err := valsigner.ParseState(b); err != nil || st.Height != 0 {
				t.Fatalf("new sign state %+v, %v", st, err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("signer run --new-state did not create %s: %v", stateFile, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
