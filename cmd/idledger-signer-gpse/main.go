// Command idledger-signer-gpse is idledger's signer plugin for the JPKI
// applet of a My Number Card or of an Android phone's GP-SE, over PC/SC
// (pcscd). The idledger CLI runs it with `--signer plugin:gpse` and speaks
// the signer plugin protocol (docs/signer-plugin-protocol.md) on its
// standard input and output. See package gpse.
package main

import (
	"os"

	"github.com/idledger/idledger/gpse"
)

func main() {
	os.Exit(gpse.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
