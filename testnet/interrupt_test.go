package testnet_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/testnet"
)

// TestUpCtrlCThroughPipe runs "idledger testnet up 2>&1 | tee log" in its
// own process group, as a terminal runs a pipeline, and sends the group
// SIGINT (Ctrl-C): tee dies with it, and testnet up must still stop every
// node and exit 0 rather than die of SIGPIPE and leave them running.
func TestUpCtrlCThroughPipe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a testnet")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("needs bash")
	}
	tmp := nodetest.TempDir(t)
	dir, logPath, rcPath := filepath.Join(tmp, "tn"), filepath.Join(tmp, "log"), filepath.Join(tmp, "rc")
	script := `{ "$0" testnet up --dir "$1" --validators 2 --holders 1 --base-port 0; echo $? > "$2"; } 2>&1 | tee "$3" >/dev/null`
	cmd := exec.Command(bash, "-c", script, binary, dir, rcPath, logPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { testnet.StopPIDs(dir, 5*time.Second) })

	deadline := time.Now().Add(3 * time.Minute)
	for {
		b, _ := os.ReadFile(logPath)
		if strings.Contains(string(b), "is running") {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("testnet up ended early (%v):\n%s", err, b)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("testnet up did not start:\n%s", b)
		}
	}
	m, err := testnet.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	n, err := testnet.Open(dir, testnet.OpenOptions{Binary: binary})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(n.RunningPIDs()); got != len(m.Nodes) {
		t.Fatalf("%d nodes running before Ctrl-C, want %d", got, len(m.Nodes))
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the pipeline did not end after Ctrl-C")
	}
	rc, err := os.ReadFile(rcPath)
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.TrimSpace(string(rc)); s != "0" {
		t.Errorf("testnet up exited with %s after Ctrl-C, want 0", s)
	}
	for end := time.Now().Add(30 * time.Second); len(n.RunningPIDs()) > 0 && time.Now().Before(end); {
		time.Sleep(100 * time.Millisecond)
	}
	if left := n.RunningPIDs(); len(left) > 0 {
		t.Fatalf("nodes still running after Ctrl-C: %v", left)
	}
}
