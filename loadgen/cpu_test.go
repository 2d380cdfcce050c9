package loadgen

import (
	"os"
	"testing"
	"time"
)

func TestParseProcStatCPU(t *testing.T) {
	// utime 1234 and stime 56 ticks; comm with a space and a ')'.
	line := "4242 (idledger )x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 1234 56 0 0 20 0 12 0 100 0 0\n"
	d, err := parseProcStatCPU([]byte(line))
	if err != nil || d != 1290*clockTick {
		t.Fatalf("got %v, %v; want %v", d, err, 1290*clockTick)
	}
	for _, bad := range []string{"", "4242 (x", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 -5 56 0"} {
		if _, err := parseProcStatCPU([]byte(bad)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// TestSampleCPUCountsWork: this process's own stat file, read as a node's
// would be, moves when the process works.
func TestSampleCPUCountsWork(t *testing.T) {
	pid := []int{os.Getpid()}
	a, err := sampleCPU(pid)
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		b, err := sampleCPU(pid)
		if err != nil {
			t.Fatal(err)
		}
		if b.nodes > a.nodes && b.self > a.self {
			c := cpuBetween(a, b, 10)
			if c.NodeUsPerTx <= 0 || c.BusyCores <= 0 || c.Cores <= 0 {
				t.Fatalf("cpuBetween: %+v", c)
			}
			return
		}
		for i := 0; i < 1e6; i++ { // spin
			_ = i * i
		}
	}
	t.Fatal("the CPU time did not move while spinning")
}

func FuzzParseProcStatCPU(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 5 0 0"))
	f.Add([]byte("2 (a b)) R 1 2 2 0 -1 0 0 0 0 0 18446744073709551615 0 0"))
	f.Add([]byte(")"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseProcStatCPU(b)
		if err == nil && d < 0 {
			t.Fatalf("negative CPU time %v", d)
		}
	})
}
