package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/idledger/idledger/testnet"
)

// Bounds of a load run.
const (
	MaxLoadTxs      = 100000
	MaxLoadRate     = 10000
	MaxLoadDuration = 10 * time.Minute
	// DefaultLoadWait is how long Load waits for commits after the last send.
	DefaultLoadWait = 30 * time.Second
)

// LoadOptions describe a load run.
type LoadOptions struct {
	Dir string
	// Rate is the offered load in transactions per second over all target
	// nodes; Duration how long to offer it. Rate×Duration transactions are
	// prepared (at most MaxLoadTxs).
	Rate     float64
	Duration time.Duration
	// Nodes are the indexes of the nodes to send to (default all). Node I's
	// transactions are signed by its member orgI, in sequence order, and
	// sent only to node I.
	Nodes []int
	// Wait bounds the wait for commits after the last send (default
	// DefaultLoadWait).
	Wait time.Duration
	// AppCheck checks the application state after the run: member
	// sequences, the same app hash on every node, and verified reads of
	// sample attestations.
	AppCheck bool
	// Progress receives progress lines (nil: none).
	Progress io.Writer
}

// LoadResult is what a load run measured.
type LoadResult struct {
	App        string   `json:"app"`
	Validators int      `json:"validators"`
	Targets    []string `json:"targets"`
	TxBytes    int      `json:"tx_bytes"` // mean transaction size
	// Rate and Duration are what was asked for.
	Rate     float64  `json:"rate"`
	Duration Duration `json:"duration"`
	Prepared int      `json:"prepared"`
	// PrepareTime is the pre-signing time (before the timed phase).
	PrepareTime Duration `json:"prepare_time"`

	Sent     int `json:"sent"`
	Accepted int `json:"accepted"` // CheckTx passed
	// Committed counts transactions committed with code 0; Failed those
	// committed with a refusal code; Lost those accepted but not seen
	// committed within the wait.
	Committed int `json:"committed"`
	Failed    int `json:"failed"`
	Lost      int `json:"lost"`
	// OfferedTPS is Sent over the send phase; CommittedTPS is Committed over
	// the time from the first send to the last commit.
	OfferedTPS   float64  `json:"offered_tps"`
	CommittedTPS float64  `json:"committed_tps"`
	SendTime     Duration `json:"send_time"`
	// Latency is from just before the broadcast to when the watched node's
	// RPC first reported the block holding the transaction (polled every
	// 20ms), over committed transactions.
	Latency  Latency   `json:"latency"`
	Refusals []Refusal `json:"refusals"`
	// Blocks is the number of blocks from the first to the last that held a
	// load transaction; MaxBlockTxs the most in one block.
	Blocks      int   `json:"blocks"`
	FirstHeight int64 `json:"first_height"`
	LastHeight  int64 `json:"last_height"`
	MaxBlockTxs int   `json:"max_block_txs"`

	// CPU is the processor time of the timed phase (Linux only).
	CPU *CPU `json:"cpu,omitempty"`

	AppCheck *AppCheck `json:"app_check,omitempty"`
}

// Load runs a load test on the running testnet in opts.Dir: it prepares
// Rate×Duration transactions (for idledger, Attest transactions signed with
// the holders' keys and the target nodes' members, on every core), sends
// them at Rate, spread round-robin over the lanes (each target node's
// organisation and load members, one sender each on its own connection,
// each member's transactions in order, every due transaction at once in
// one JSON-RPC batch of broadcast_tx_sync calls), watches the blocks
// of the first target node for them, and reports throughput, latency and
// refusals. For a kvstore testnet it sends random key=value transactions
// of the size of an Attest transaction instead.
func Load(ctx context.Context, opts LoadOptions) (*LoadResult, error) {
	m, err := testnet.ReadManifest(opts.Dir)
	if err != nil {
		return nil, err
	}
	if opts.Wait == 0 {
		opts.Wait = DefaultLoadWait
	}
	if len(opts.Nodes) == 0 {
		for i := range m.Nodes {
			opts.Nodes = append(opts.Nodes, i)
		}
	}
	total := int(math.Ceil(opts.Rate * opts.Duration.Seconds()))
	switch {
	case opts.Rate <= 0 || opts.Rate > MaxLoadRate:
		return nil, fmt.Errorf("loadgen: rate %g: want more than 0 and at most %d tx/s", opts.Rate, MaxLoadRate)
	case opts.Duration <= 0 || opts.Duration > MaxLoadDuration:
		return nil, fmt.Errorf("loadgen: duration %s: want more than 0 and at most %s", opts.Duration, MaxLoadDuration)
	case total > MaxLoadTxs:
		return nil, fmt.Errorf("loadgen: %d transactions (rate × duration): at most %d", total, MaxLoadTxs)
	case opts.Wait < 0 || opts.Wait > MaxLoadDuration:
		return nil, fmt.Errorf("loadgen: wait %s: want at most %s", opts.Wait, MaxLoadDuration)
	}
	seen := map[int]bool{}
	for _, i := range opts.Nodes {
		if i < 0 || i >= len(m.Nodes) {
			return nil, fmt.Errorf("loadgen: node %d: the testnet has nodes 0 to %d", i, len(m.Nodes)-1)
		}
		if seen[i] {
			return nil, fmt.Errorf("loadgen: node %d given twice", i)
		}
		seen[i] = true
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}

	res := &LoadResult{App: m.App, Validators: len(m.Nodes), Rate: opts.Rate, Duration: Duration(opts.Duration), Prepared: total}
	for _, i := range opts.Nodes {
		res.Targets = append(res.Targets, m.Nodes[i].Name)
	}
	rpcs := make([]*rpchttp.HTTP, len(opts.Nodes))
	for t, i := range opts.Nodes {
		if rpcs[t], err = rpchttp.NewWithTimeout(m.Nodes[i].RPCURL(), "/websocket", 10); err != nil {
			return nil, fmt.Errorf("loadgen: %w", err)
		}
	}

	var run [4]byte
	if _, err := rand.Read(run[:]); err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	g := &generator{m: m, opts: opts, run: hex.EncodeToString(run[:]), total: total, progress: progress}
	if err := g.setup(ctx); err != nil {
		return nil, err
	}
	start := time.Now()
	txs, err := g.prepare(ctx)
	if err != nil {
		return nil, err
	}
	res.PrepareTime = Duration(time.Since(start).Round(time.Millisecond))
	size := 0
	for _, tx := range txs {
		size += len(tx.raw)
	}
	res.TxBytes = size / len(txs)
	fmt.Fprintf(progress, "prepared %d transactions of %d bytes on average in %s\n", len(txs), res.TxBytes, res.PrepareTime.D())

	// The timed phase.
	blocks := newBlockReader(m.Nodes[opts.Nodes[0]].RPCURL())
	from, err := blocks.latestHeight(ctx)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %s: %w", res.Targets[0], err)
	}
	w := newWatcher(blocks, from, txs)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchDone := make(chan error, 1)
	go func() { watchDone <- w.run(watchCtx) }()

	fmt.Fprintf(progress, "sending %d transactions at %g tx/s to %s\n", len(txs), opts.Rate, strings.Join(res.Targets, ", "))
	pids := nodePIDs(opts.Dir)
	cpu0, cpuErr := sampleCPU(pids)
	sendStart := time.Now()
	sendDeadline := sendStart.Add(2*opts.Duration + 5*time.Second)
	var sentCount atomic.Int64
	var wg sync.WaitGroup
	for l := range g.lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			newSender(m.Nodes[opts.Nodes[l%len(opts.Nodes)]].RPCURL(), w, l, g.lanes, sendStart, opts.Rate, sendDeadline, &sentCount).run(ctx)
		}()
	}
	tick := time.NewTicker(time.Second)
	sendDone := make(chan struct{})
	go func() { wg.Wait(); close(sendDone) }()
sending:
	for {
		select {
		case <-sendDone:
			break sending
		case <-tick.C:
			fmt.Fprintf(progress, "  sent %d, committed %d, height %d\n", sentCount.Load(), w.committedCount(), w.height())
		}
	}
	sendEnd := time.Now()
	res.SendTime = Duration(sendEnd.Sub(sendStart).Round(time.Millisecond))

	w.mu.Lock()
	accepted := w.accepted()
	w.mu.Unlock()
	w.sendDone()
	fmt.Fprintf(progress, "sent %d in %s; waiting up to %s for commits\n", sentCount.Load(), res.SendTime.D(), opts.Wait)
	waitDeadline := time.Now().Add(opts.Wait)
	waitEnd := time.After(opts.Wait)
waiting:
	for {
		select {
		case <-w.allDone:
			break waiting
		case <-waitEnd:
			break waiting
		case <-ctx.Done():
			break waiting
		case <-tick.C:
			fmt.Fprintf(progress, "  committed %d of %d accepted, height %d\n", w.committedCount(), accepted, w.height())
		}
	}
	tick.Stop()
	var cpu1 cpuSample
	if cpuErr == nil && pids != nil {
		cpu1, cpuErr = sampleCPU(pids)
	}
	// The timed phase is over: read the blocks for the load's transactions.
	// Until the wait ends, keep following the node if the blocks held
	// fewer of them than their counts said (another client's transactions).
	fmt.Fprintf(progress, "reading blocks %d-%d\n", w.from+1, w.height())
	var collectErr error
	for {
		var all bool
		if all, collectErr = w.collect(ctx); (all && collectErr == nil) || ctx.Err() != nil || time.Now().After(waitDeadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	stopWatch()
	if collectErr != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("loadgen: reading the blocks: %w", collectErr)
	}
	if err := <-watchDone; err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	summarize(res, txs, sendStart, sendEnd, w)
	if cpuErr == nil && pids != nil {
		res.CPU = cpuBetween(cpu0, cpu1, res.Committed)
	}
	if opts.AppCheck {
		fmt.Fprintf(progress, "checking the application state\n")
		res.AppCheck = g.appCheck(ctx, txs, res)
	}
	return res, ctx.Err()
}
