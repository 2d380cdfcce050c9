package testutil

import (
	"crypto/x509"
	"fmt"
	"sync"
	"testing"
)

func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				fmt.Fprintf(&b, "w%d %d\n", i, j)
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := len(b.String()); got < 4*50*5 {
		t.Fatalf("%d bytes written, want at least %d", got, 4*50*5)
	}
	b.Reset()
	b.Write([]byte("a\nb\nc"))
	if got := b.TailLines(2); got != "b\nc" {
		t.Fatalf("TailLines(2) = %q", got)
	}
	if got := b.TailLines(9); got != "a\nb\nc" {
		t.Fatalf("TailLines(9) = %q", got)
	}
	if got := b.TailBytes(3); got != "…b\nc" {
		t.Fatalf("TailBytes(3) = %q", got)
	}
	if got := b.TailBytes(5); got != "a\nb\nc" {
		t.Fatalf("TailBytes(5) = %q", got)
	}
}

func TestHolder(t *testing.T) {
	k1, c1 := Holder("a")
	k2, c2 := Holder("a")
	k3, c3 := Holder("b")
	if k1 != k2 || &c1[0] != &c2[0] {
		t.Fatal("the same cn gave another key")
	}
	if k1.Equal(k3) || string(c1) == string(c3) {
		t.Fatal("two cns share a key")
	}
	cert, err := x509.ParseCertificate(c3)
	if err != nil || cert.Subject.CommonName != "b" || !k3.PublicKey.Equal(cert.PublicKey) {
		t.Fatalf("certificate: %v", err)
	}
}
