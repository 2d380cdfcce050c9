package testutil

import (
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
