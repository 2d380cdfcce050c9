package app

import (
	"crypto/sha256"
	"encoding/binary"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"
)

func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkStoreGrowth writes what b.N blocks of 1,000 attestations write
// to the state (the member's sequence, an attestation appended at the
// tree's right edge, a status record at a random place, the change list),
// without the transactions and their signatures, on the node's store
// settings, and reports the process's CPU time per attestation over the
// last 50 blocks and the median proven read of a status record at the end.
// It isolates the part of a block's cost that grows with the state. It
// runs only when IDLEDGER_STORE_GROWTH is set, so that the package's other
// benchmarks at -benchtime 1000x do not write a million attestations four
// times:
//
//	IDLEDGER_STORE_GROWTH=1 go test -run x -bench StoreGrowth -benchtime 1000x ./app/   # 1,000,000 attestations
func BenchmarkStoreGrowth(b *testing.B) {
	if os.Getenv("IDLEDGER_STORE_GROWTH") == "" {
		b.Skip("set IDLEDGER_STORE_GROWTH=1 to run it")
	}
	for _, bc := range []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"nodes=1M", Options{NodeCache: 1_000_000}},
		{"fastindex", Options{Store: StoreOptions{FastIndex: true}}},
		{"pruned", Options{KeepVersions: 100, Store: StoreOptions{PruneEvery: 10}}},
	} {
		b.Run(bc.name, func(b *testing.B) { benchStoreGrowth(b, bc.opts) })
	}
}

func benchStoreGrowth(b *testing.B, o Options) {
	o.Store.setDefaults()
	if o.KeepVersions == 0 {
		o.KeepVersions = DefaultKeepVersions
	}
	a := &App{opts: o}
	db, tree, err := openStateTree(b.TempDir(), "state", o)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	a.tree = tree
	subject := func(s int) []byte {
		h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(s)))
		return h[:]
	}
	claimKey := func(n int) []byte { // 12 attestations per subject, 3 claim types
		return append(append([]byte{0x05}, subject(n/12)...), byte(n%3))
	}
	st := treeStore{tree}
	attestation := make([]byte, 170)
	var cpu time.Duration
	b.ResetTimer()
	for h := 1; h <= b.N; h++ {
		c0 := time.Duration(cpuNanos())
		st.Set([]byte{0x0b}, binary.BigEndian.AppendUint64(nil, uint64(h)))
		for i := range 1000 {
			n := (h-1)*1000 + i
			st.Set([]byte("\x01member"), binary.BigEndian.AppendUint64(nil, uint64(n)))
			st.Get([]byte{0x06}) // the subject's revocation: absent
			key := claimKey(n)
			old := st.Get(key)
			st.Set(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64([]byte{0x04}, uint64(h)), uint32(i)), attestation)
			st.Set(key, append(slices.Clone(old), make([]byte, 80)...))
		}
		st.Set([]byte{0x10}, make([]byte, 9000))
		if _, v, err := tree.SaveVersion(); err != nil {
			b.Fatal(err)
		} else {
			a.pruneVersions(v)
		}
		if h > b.N-50 {
			cpu += time.Duration(cpuNanos()) - c0
		}
	}
	b.StopTimer()
	blocks := min(b.N, 50)
	imm, err := tree.GetImmutable(tree.Version())
	if err != nil {
		b.Fatal(err)
	}
	var qs []time.Duration
	for i := range 301 {
		key := claimKey((i * 7919) % (b.N * 1000))
		t0 := time.Now()
		if _, err := imm.Get(key); err != nil {
			b.Fatal(err)
		}
		if _, err := imm.GetProof(key); err != nil {
			b.Fatal(err)
		}
		qs = append(qs, time.Since(t0))
	}
	slices.Sort(qs)
	b.ReportMetric(float64(cpu.Microseconds())/float64(blocks*1000), "cpu-us/attestation")
	b.ReportMetric(float64(qs[len(qs)/2].Nanoseconds())/1000, "query-us")
}
