package loadgen

import (
	"bytes"
	"errors"
	"math"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/idledger/idledger/testnet"
)

// CPU is where the machine's processor time went during a run's timed
// phase (from the first send to the last commit), on Linux; elsewhere it
// is absent. On a machine that runs the testnet and the load generator
// together, a run is CPU-bound when BusyCores reaches Cores: then the
// committed rate is Cores divided by the CPU each transaction costs
// (NodeUsPerTx + LoadUsPerTx), whatever the rate asked for.
type CPU struct {
	// Cores is the number of CPUs this process may use.
	Cores int `json:"cores"`
	// Nodes is the CPU time of the testnet's node processes (every node,
	// all their threads); Load is this process's own (senders, block
	// watcher, statistics).
	Nodes Duration `json:"nodes"`
	Load  Duration `json:"load"`
	// NodeUsPerTx and LoadUsPerTx are those over the committed
	// transactions, in microseconds: the per-node cost is NodeUsPerTx over
	// the number of validators.
	NodeUsPerTx float64 `json:"node_us_per_tx"`
	LoadUsPerTx float64 `json:"load_us_per_tx"`
	// BusyCores is (Nodes + Load) over the phase's wall time.
	BusyCores float64 `json:"busy_cores"`
}

// cpuSample is a reading of the nodes' and this process's CPU time.
type cpuSample struct {
	at          time.Time
	nodes, self time.Duration
}

// clockTick is the unit of /proc/PID/stat's times: USER_HZ, which Linux
// fixes at 100 for every architecture's user-space ABI.
const clockTick = 10 * time.Millisecond

// sampleCPU reads the CPU time of the processes in pids and of this
// process. It fails when a node's /proc entry is unreadable (not Linux, or
// the node has exited): a partial sum would understate the cost.
func sampleCPU(pids []int) (cpuSample, error) {
	s := cpuSample{at: time.Now()}
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return s, err
		}
		d, err := parseProcStatCPU(b)
		if err != nil {
			return s, err
		}
		s.nodes += d
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s, err
	}
	s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return s, nil
}

var errProcStat = errors.New("loadgen: /proc stat line without utime and stime")

// parseProcStatCPU returns utime + stime from the contents of
// /proc/PID/stat: "pid (comm) state ppid ...", where comm may hold spaces
// and parentheses, so the fields are counted from its last ')'. utime and
// stime are fields 14 and 15 (the 12th and 13th after comm).
func parseProcStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errProcStat
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, errProcStat
	}
	var ticks [2]uint64
	for j, s := range f[11:13] {
		n, err := strconv.ParseUint(string(s), 10, 63)
		if err != nil {
			return 0, errProcStat
		}
		ticks[j] = n
	}
	// Far more than any process's lifetime (87 years of CPU each), and
	// small enough that their sum in nanoseconds fits a Duration.
	const maxTicks = 1 << 38
	if ticks[0] > maxTicks || ticks[1] > maxTicks {
		return 0, errProcStat
	}
	return time.Duration(ticks[0]+ticks[1]) * clockTick, nil
}

// nodePIDs lists the running node processes of the testnet in dir, in node
// order; nil when they cannot all be found (then no CPU is reported).
func nodePIDs(dir string) []int {
	running, nodes, err := testnet.ReadPIDs(dir)
	if err != nil || len(running) != nodes {
		return nil
	}
	pids := make([]int, nodes)
	for i := range pids {
		pids[i] = running[i]
	}
	return pids
}

// cpuBetween is the CPU of a phase from two samples and its committed
// transactions.
func cpuBetween(a, b cpuSample, committed int) *CPU {
	c := &CPU{Cores: runtime.GOMAXPROCS(0), Nodes: Duration(b.nodes - a.nodes), Load: Duration(b.self - a.self)}
	if committed > 0 {
		c.NodeUsPerTx = round1(float64(b.nodes-a.nodes) / float64(time.Microsecond) / float64(committed))
		c.LoadUsPerTx = round1(float64(b.self-a.self) / float64(time.Microsecond) / float64(committed))
	}
	if wall := b.at.Sub(a.at); wall > 0 {
		c.BusyCores = math.Round(float64(b.nodes-a.nodes+b.self-a.self)/float64(wall)*100) / 100
	}
	return c
}
