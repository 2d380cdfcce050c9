package testutil

import (
	"net"
	"testing"
)

// FreeAddr returns a loopback host:port (127.0.0.1 only) that was free a
// moment ago, for a test to listen on.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
