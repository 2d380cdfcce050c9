package nodetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RunWithBinary builds the idledger command once into a temporary directory,
// sets *binary to its path, runs the tests and returns their exit code. Call
// it from TestMain in packages whose tests start nodes as OS processes, as
// "idledger testnet up" does:
//
//	func TestMain(m *testing.M) { os.Exit(nodetest.RunWithBinary(m, &binary)) }
func RunWithBinary(m *testing.M, binary *string) int {
	dir, err := os.MkdirTemp("", "idledger-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*binary = filepath.Join(dir, "idledger")
	build := exec.Command("go", "build", "-o", *binary, "github.com/idledger/idledger/cmd/idledger")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building idledger: %v\n", err)
		return 1
	}
	return m.Run()
}
