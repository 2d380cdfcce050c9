package app_test

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime reports, when the returned func is called, the process's CPU
// time (user + system, all threads) per op since cpuTime was called, as
// "cpu-ns/op": the work a benchmark did, which a loaded machine does not
// inflate the way it inflates wall-clock ns/op.
func cpuTime(b *testing.B) func() {
	b.Helper()
	start := rusage()
	return func() {
		b.ReportMetric(float64(rusage()-start)/float64(b.N), "cpu-ns/op")
	}
}

func rusage() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
