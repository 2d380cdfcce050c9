package cli_test

// The helpers every cli test shares: running the command in-process,
// running it in the background (a node, a signer) until the test ends,
// a one-node home made through the CLI itself, and the JSON shapes several
// tests decode.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/idledger/idledger/cli"
	"github.com/idledger/idledger/internal/testutil"
	"github.com/idledger/idledger/memberkey"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/testca"
)

// run runs the idledger command and returns its exit status, stdout and
// stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// ok runs the command, fails the test unless it succeeds, and decodes its
// JSON output into v (when v is not nil).
func ok(t *testing.T, v any, args ...string) string {
	t.Helper()
	code, out, errs := run(t, args...)
	if code != cli.ExitOK {
		t.Fatalf("idledger %s: exit %d\n%s", strings.Join(args, " "), code, errs)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("idledger %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return out
}

// refused runs the command and checks it fails with status 1 and a
// one-line error containing want.
func refused(t *testing.T, want string, args ...string) {
	t.Helper()
	code, out, errs := run(t, args...)
	if code != cli.ExitFailure || out != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "idledger: ") || !strings.Contains(errs, want) {
		t.Errorf("idledger %s: exit %d, stdout %q, stderr %q; want exit 1 and one error line with %q", strings.Join(args, " "), code, out, errs, want)
	}
}

// background runs the idledger command args until stop is called or the
// test ends; stop fails the test if the command exits with an error or
// does not stop within 30s. exited delivers its exit status. The end of
// its output is logged if the test fails.
func background(t *testing.T, args ...string) (stop func(), logs *testutil.SyncBuffer, exited <-chan int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &testutil.SyncBuffer{}
	done := make(chan int, 1)
	go func() { done <- cli.Main(ctx, args, logs, logs) }()
	name := strings.Join(args[:min(2, len(args))], " ")
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case code := <-done:
				if code != cli.ExitOK {
					t.Errorf("idledger %s: exit %d\n%s", name, code, logs.TailLines(40))
				}
			case <-time.After(30 * time.Second):
				t.Errorf("idledger %s did not stop within 30s", name)
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("log of idledger %s:\n%s", name, logs.TailLines(40))
		}
	})
	return stop, logs, done
}

// startNode runs "idledger start" until the returned stop function is
// called, and waits for the node to commit a block.
func startNode(t *testing.T, home, url string) (stop func()) {
	t.Helper()
	stop, logs, exited := background(t, "start", "--home", home)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case code := <-exited:
		t.Fatalf("idledger start exited with %d:\n%s", code, logs.TailLines(40))
	default:
	}
	nodetest.WaitHeight(ctx, t, url, 1)
	return stop
}

type holderJSON struct {
	Name, Certificate, Key, Subject, Signer string
}

type proposalJSON struct {
	ID       uint64   `json:"id"`
	Action   string   `json:"action"`
	Status   string   `json:"status"`
	Result   string   `json:"result"`
	Votes    []string `json:"votes"`
	TxHeight int64    `json:"tx_height"`
}

// cliNode is a one-validator home made through the CLI, as a user makes
// one: a test CA (ca init), holders (ca issue), and idledger init on free
// loopback ports with fast consensus. It is not started.
type cliNode struct {
	Dir, CA, Home, URL string
	// MemberKey is the operator's member key file.
	MemberKey string
	Holders   map[string]holderJSON
}

func newCLINode(t *testing.T, chainID string, holders ...string) *cliNode {
	t.Helper()
	dir := nodetest.TempDir(t)
	rpcAddr, p2pAddr := nodetest.FreeAddr(t), nodetest.FreeAddr(t)
	n := &cliNode{Dir: dir, CA: filepath.Join(dir, "ca"), Home: filepath.Join(dir, "node"), URL: "http://" + rpcAddr, Holders: map[string]holderJSON{}}
	ok(t, nil, "ca", "init", "--dir", n.CA)
	for _, name := range holders {
		var h holderJSON
		ok(t, &h, "ca", "issue", "--dir", n.CA, "--name", name, "-o", "json")
		n.Holders[name] = h
	}
	var initRes struct {
		MemberKeyFile string `json:"member_key_file"`
	}
	ok(t, &initRes, "init", "--home", n.Home, "--chain-id", chainID, "--anchor", filepath.Join(n.CA, "ca.crt"),
		"--rpc-addr", rpcAddr, "--p2p-addr", p2pAddr, "--fast", "-o", "json")
	n.MemberKey = initRes.MemberKeyFile
	return n
}

// writeFile writes data to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// newMemberKey writes a fresh member key file.
func newMemberKey(t *testing.T, path string) {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := memberkey.Write(path, k); err != nil {
		t.Fatal(err)
	}
}

// rpcClient returns a CometBFT RPC client of the node at url.
func rpcClient(t *testing.T, url string) *rpchttp.HTTP {
	t.Helper()
	c, err := rpchttp.New(url, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// issueHolder issues a test holder from e's CA and returns it with its
// --signer spec.
func issueHolder(t *testing.T, e *nodetest.Env, name string) (*testca.Holder, string) {
	t.Helper()
	h, err := e.CA.Issue(testca.IssueOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return h, softSpec(h)
}

// softSpec is the --signer spec of a test holder's key and certificate.
func softSpec(h *testca.Holder) string { return "soft:" + h.KeyPath + "," + h.CertPath }
