package testnet_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/testnet"
)

// TestUpgradeHaltsAndResumes runs an upgrade on a 2-validator testnet of
// idledger processes: a governance proposal schedules upgrade "test-up" at
// height H; both nodes halt before executing H with exit status 3 and the
// log line; a node without the upgrade refuses to start; restarted with a
// binary that knows it (the test-only handler), blocks resume past H.
func TestUpgradeHaltsAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 2-validator testnet")
	}
	const name = "test-up"
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	m, n := startTwoValidators(ctx, t, "upgrade")
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(ctx, binary, args...)
		cmd.Env = os.Environ()
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("idledger %s: %v: %s", strings.Join(args, " "), err, ee.Stderr)
			}
			t.Fatal(err)
		}
		return out
	}
	key := func(i int) string { return node.MemberKeyPath(n.Home(i)) }
	c, err := rpchttp.New(n.RPCURL(0), "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Far enough ahead for two transactions to commit on a loaded machine.
	h := st.SyncInfo.LatestBlockHeight + 25
	var p struct {
		ID     uint64 `json:"id"`
		Status string `json:"status"`
		Result string `json:"result"`
	}
	if err := json.Unmarshal(run("gov", "propose", "upgrade", "--name", name, "--height", fmt.Sprint(h),
		"--node", n.RPCURL(0), "--member-key", key(0), "-o", "json"), &p); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(run("gov", "vote", fmt.Sprint(p.ID), "--node", n.RPCURL(1), "--member-key", key(1), "-o", "json"), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != "executed" {
		t.Fatalf("upgrade proposal %+v, want executed", p)
	}
	var q struct {
		Scheduled *struct {
			Name   string `json:"name"`
			Height int64  `json:"height"`
		} `json:"scheduled"`
	}
	if err := json.Unmarshal(run("query", "upgrade", "--node", n.RPCURL(1), "-o", "json"), &q); err != nil {
		t.Fatal(err)
	}
	if q.Scheduled == nil || q.Scheduled.Name != name || q.Scheduled.Height != h {
		t.Fatalf("query upgrade: %+v, want %s at %d", q.Scheduled, name, h)
	}

	// Both nodes halt at h with the upgrade exit status.
	for range m.Nodes {
		select {
		case e := <-n.Exits():
			wantUpgradeExit(t, n, e, name, h)
		case <-ctx.Done():
			t.Fatalf("the nodes did not halt at height %d: %v", h, ctx.Err())
		}
	}
	// The last block committed is h-1: h is decided but not executed.
	for i := range m.Nodes {
		log, _ := os.ReadFile(n.LogPath(i))
		if want := fmt.Sprintf("UPGRADE %q NEEDED at height %d", name, h); !strings.Contains(string(log), want) {
			t.Fatalf("%s's log lacks %q", m.Nodes[i].Name, want)
		}
	}

	// Without the upgrade a node refuses to start.
	if err := n.StartNode(0); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-n.Exits():
		wantUpgradeExit(t, n, e, name, h)
	case <-ctx.Done():
		t.Fatal("a node without the upgrade did not refuse to start")
	}

	// With it, both resume past h.
	t.Setenv(app.TestUpgradeEnv, name)
	for i := range m.Nodes {
		if err := n.StartNode(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.WaitHeight(ctx, []int{0, 1}, h+3, 2*time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	log, _ := os.ReadFile(n.LogPath(1))
	if want := fmt.Sprintf("applied upgrade %q at height %d", name, h); !strings.Contains(string(log), want) {
		t.Fatalf("node1's log lacks %q", want)
	}
	q.Scheduled = nil
	if err := json.Unmarshal(run("query", "upgrade", "--node", n.RPCURL(0), "-o", "json"), &q); err != nil {
		t.Fatal(err)
	}
	if q.Scheduled != nil {
		t.Fatalf("after the upgrade, query upgrade still shows %+v", q.Scheduled)
	}
}

func wantUpgradeExit(t *testing.T, n *testnet.Network, e testnet.Exit, name string, h int64) {
	t.Helper()
	var ee *exec.ExitError
	if !errors.As(e.Err, &ee) || ee.ExitCode() != app.ExitCodeUpgradeNeeded {
		t.Fatalf("%s exited with %v, want exit status %d; end of its log:\n%s", n.Manifest.Nodes[e.Node].Name, e.Err,
			app.ExitCodeUpgradeNeeded, testnet.LogTail(n.LogPath(e.Node), 20))
	}
	tail := testnet.LogTail(n.LogPath(e.Node), 5)
	if want := fmt.Sprintf("upgrade %q needed at height %d", name, h); !strings.Contains(tail, want) {
		t.Fatalf("%s's log ends without %q:\n%s", n.Manifest.Nodes[e.Node].Name, want, tail)
	}
}
