package testnet_test

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/idledger/idledger/doctor"
	"github.com/idledger/idledger/testnet"
)

// runDoctor runs "idledger doctor -o json" on a home and returns its report
// and exit status.
func runDoctor(ctx context.Context, t *testing.T, home string) (*doctor.Report, int) {
	t.Helper()
	out, err := exec.CommandContext(ctx, binary, "doctor", "--home", home, "-o", "json").Output()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var r doctor.Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("doctor output is not JSON (%v): %s", err, out)
	}
	return &r, code
}

// TestDoctorReportsStoppedPeer: on a 2-validator testnet doctor finds
// node0's peer; once node1 is stopped it names node1 as a persistent peer
// that is not connected and exits 1.
func TestDoctorReportsStoppedPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 2-validator testnet")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	m, n := startTwoValidators(ctx, t, "doctor")
	if err := n.WaitHeight(ctx, []int{0, 1}, 2, 2*time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	peerCheck := "peer " + m.Nodes[1].NodeID[:12]
	var r *doctor.Report
	for tries := 0; tries < 50; tries++ { // the peers may still be connecting
		r, _ = runDoctor(ctx, t, n.Home(0))
		if c := findCheck(r, "peers"); c != nil && c.Status == doctor.OK {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if c := findCheck(r, "peers"); c == nil || c.Status != doctor.OK || !strings.Contains(c.Detail, "node1") {
		t.Fatalf("with both nodes up: %+v", r.Checks)
	}
	if c := findCheck(r, peerCheck); c != nil {
		t.Fatalf("with both nodes up, node1 reported: %+v", c)
	}

	if err := n.StopNode(1, testnet.DefaultStopGrace); err != nil {
		t.Fatal(err)
	}
	var code int
	for tries := 0; tries < 100; tries++ { // node0 notices the lost connection
		if r, code = runDoctor(ctx, t, n.Home(0)); findCheck(r, peerCheck) != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	c := findCheck(r, peerCheck)
	if c == nil || c.Status != doctor.Fail || !strings.Contains(c.Detail, m.Nodes[1].NodeID) {
		t.Fatalf("with node1 stopped: %+v", r.Checks)
	}
	if code != 1 || r.OK {
		t.Fatalf("with node1 stopped: exit %d, ok %v; want exit 1", code, r.OK)
	}
}

func findCheck(r *doctor.Report, name string) *doctor.Result {
	for i := range r.Checks {
		if r.Checks[i].Check == name {
			return &r.Checks[i]
		}
	}
	return nil
}
