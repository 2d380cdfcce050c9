// Command idledger runs and uses an idledger node: see idledger --help.
package main

import (
	"context"
	"os"

	"github.com/idledger/idledger/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
