package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/idledger/idledger/cli"
	"github.com/idledger/idledger/internal/testutil"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/valsigner"
)

// runSigner runs "idledger signer run" until the returned stop is called.
func runSigner(t *testing.T, args ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var logs testutil.SyncBuffer
	done := make(chan int, 1)
	go func() { done <- cli.Main(ctx, append([]string{"signer", "run"}, args...), &logs, &logs) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != cli.ExitOK {
				t.Errorf("idledger signer run: exit %d\n%s", code, logs.TailLines(40))
			}
		case <-time.After(30 * time.Second):
			t.Errorf("idledger signer run did not stop within 30s")
		}
		if t.Failed() {
			t.Logf("signer log:\n%s", logs.TailLines(40))
		}
	}
	t.Cleanup(stop)
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
	cl, err := rpchttp.New(url, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
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
	if cl, err = rpchttp.New(url, "/websocket"); err != nil {
		t.Fatal(err)
	}
	if s, err = cl.Status(ctx); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitHeight(ctx, t, url, s.SyncInfo.LatestBlockHeight+3)
}
