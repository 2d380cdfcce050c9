// Package nodetest starts real idledger nodes for tests: a temporary home
// with a test JPKI CA as its trust anchor, free loopback ports and fast
// consensus timeouts. Each node's log goes to a file in its temporary
// directory and is printed when the test fails.
package nodetest

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/internal/testutil"
	"github.com/idledger/idledger/memberkey"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/signer"
	"github.com/idledger/idledger/testca"
)

// Env is one test node's home and, once started, the running node.
type Env struct {
	Dir     string // the test's temporary directory
	Home    string
	CADir   string
	CA      *testca.CA
	ChainID string
	Init    *node.InitResult
	// MemberKey is the operator member's key.
	MemberKey ed25519.PrivateKey
	LogFile   string
	// StartOptions are passed to node.Start (LogWriter is set by Start).
	StartOptions node.StartOptions

	Node *node.Node
	URL  string
}

// TempDir is t.TempDir for node homes. CometBFT v0.40 saves the p2p address
// book from a goroutine that Node.Stop does not wait for, so a write may
// land in the home just after a node stopped; the removal retries for a
// while instead of failing the test.
func TempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "idledger-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var err error
		for i := 0; i < 50; i++ {
			if err = os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("removing %s: %v", dir, err)
	})
	return dir
}

// FreeAddr returns a loopback host:port that was free a moment ago
// (testutil.FreeAddr).
func FreeAddr(t testing.TB) string {
	t.Helper()
	return testutil.FreeAddr(t)
}

// ClaimTypes are registered in the genesis New makes, for its operator:
// the founding types and the others tests attest.
var ClaimTypes = []string{"kyc", "ticket", "fare-eligibility", "student-fare", "event-ticket"}

// New makes a test CA in a temporary directory and a fast single-validator
// home trusting it, on free ports. It does not start the node.
func New(t testing.TB, chainID string) *Env {
	t.Helper()
	dir := TempDir(t)
	e := &Env{Dir: dir, Home: filepath.Join(dir, "home"), CADir: filepath.Join(dir, "ca"), ChainID: chainID, LogFile: filepath.Join(dir, "node.log")}
	ca, err := testca.Init(e.CADir, testca.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.CA = ca
	res, err := node.Init(node.InitOptions{
		Home:        e.Home,
		ChainID:     chainID,
		AnchorFiles: []string{filepath.Join(e.CADir, testca.CertFile)},
		ClaimTypes:  ClaimTypes,
		Config:      node.ConfigOptions{RPCAddr: FreeAddr(t), P2PAddr: FreeAddr(t), Fast: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Init = res
	if e.MemberKey, err = memberkey.Read(res.MemberKeyFile); err != nil {
		t.Fatal(err)
	}
	return e
}

// Start starts the node and waits until it has committed a block. The node
// is stopped when the test ends.
func (e *Env) Start(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(e.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	opts := e.StartOptions
	opts.LogWriter = f
	n, err := node.Start(e.Home, opts)
	if err != nil {
		f.Close()
		e.dumpLog(t)
		t.Fatal(err)
	}
	e.Node, e.URL = n, n.RPCURL()
	t.Cleanup(func() {
		e.Stop(t)
		f.Close()
		if t.Failed() {
			e.dumpLog(t)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	WaitHeight(ctx, t, e.URL, 1)
}

// Stop stops the node if it runs.
func (e *Env) Stop(t testing.TB) {
	t.Helper()
	if e.Node == nil {
		return
	}
	if err := e.Node.Stop(); err != nil {
		t.Errorf("stopping the node: %v", err)
	}
	e.Node = nil
}

// WaitHeight waits until the node at url has committed block h.
func WaitHeight(ctx context.Context, t testing.TB, url string, h int64) {
	t.Helper()
	waitStatus(ctx, t, url, h, false)
}

func (e *Env) dumpLog(t testing.TB) {
	t.Helper()
	f, err := os.Open(e.LogFile)
	if err != nil {
		return
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	t.Logf("last lines of %s:\n%s", e.LogFile, strings.Join(lines, "\n"))
}

// WaitCaughtUp waits until the node at url has reached height h and left
// block sync for consensus (its RPC refuses transactions while it catches
// up).
func WaitCaughtUp(ctx context.Context, t testing.TB, url string, h int64) {
	t.Helper()
	waitStatus(ctx, t, url, h, true)
}

// waitStatus polls the node's status until it reached height h (and, with
// caughtUp, left block sync), and its app committed block h: CometBFT
// stores a block (the height /status reports) before the app executes and
// commits it, and a query in between reads the state before the block.
func waitStatus(ctx context.Context, t testing.TB, url string, h int64, caughtUp bool) {
	t.Helper()
	c, err := rpchttp.New(url, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	for {
		st, err := c.Status(ctx)
		if err == nil && st.SyncInfo.LatestBlockHeight >= h && !(caughtUp && st.SyncInfo.CatchingUp) {
			info, ierr := c.ABCIInfo(ctx)
			if ierr == nil && info.Response.LastBlockHeight >= h {
				return
			}
			err = ierr
		}
		select {
		case <-ctx.Done():
			t.Fatalf("node %s did not reach height %d (caught up: %v): %v (last error %v)", url, h, caughtUp, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Attest issues a new holder named name from e's test CA and has the node's
// operator attest claimType for it through c, the claim hash being
// SHA-256(name); it returns the holder and the attestation ID.
func (e *Env) Attest(ctx context.Context, t testing.TB, c *client.Client, name, claimType string) (*testca.Holder, []byte) {
	t.Helper()
	h, err := e.CA.Issue(testca.IssueOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.NewSoft(h.Key, h.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte(name))
	r, err := c.Attest(ctx, client.AttestRequest{Signer: s, MemberKey: e.MemberKey, ClaimType: claimType, ClaimHash: hash[:]})
	if err != nil {
		t.Fatal(err)
	}
	return h, r.ID
}
