package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/idledger/idledger/testnet"
)

// TestNextStepsWorkWithoutInstall: after "go run ./cmd/idledger testnet
// up" the printed commands must work as they are: none starts with a bare
// "idledger", and the note says how to install it.
func TestNextStepsWorkWithoutInstall(t *testing.T) {
	exe, _ := os.Executable()
	self := selfCommand()
	if strings.Contains(exe, "go-build") && self.name != "go run ./cmd/idledger" {
		t.Fatalf("from go's temporary build, selfCommand() = %+v", self)
	}
	m := &testnet.Manifest{ChainID: "c", App: testnet.AppIdledger, CADir: "ca", Holders: []string{"holder1"},
		Nodes: []testnet.Node{{Name: "node0", Home: "node0", RPC: "127.0.0.1:26657", Prometheus: "127.0.0.1:26660"}}}
	var b bytes.Buffer
	printNextSteps(&b, "testnet-data", m, command{name: "go run ./cmd/idledger", note: "idledger is not on your PATH. Install it with \"go install ./cmd/...\""})
	out := b.String()
	if !strings.Contains(out, "go install ./cmd/...") {
		t.Errorf("no install hint:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "  idledger ") {
			t.Errorf("a command that needs idledger on PATH: %q", line)
		}
	}
	if !strings.Contains(out, "go run ./cmd/idledger testnet stop --dir testnet-data") {
		t.Errorf("no runnable stop command:\n%s", out)
	}
	b.Reset()
	printNodeTable(&b, m, nil)
	if !strings.Contains(b.String(), "http://127.0.0.1:26660/metrics") {
		t.Errorf("the node table lacks the metrics address:\n%s", b.String())
	}
}
