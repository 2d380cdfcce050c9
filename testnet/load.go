package testnet

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/signer"
	"github.com/idledger/idledger/testca"
)

// Bounds of a load run.
const (
	MaxLoadTxs      = 100000
	MaxLoadRate     = 10000
	MaxLoadDuration = 10 * time.Minute
	// DefaultLoadWait is how long Load waits for commits after the last send.
	DefaultLoadWait = 30 * time.Second
)

// Subject modes of a load run.
const (
	// SubjectsFresh gives every transaction a certificate of its own, issued
	// by the test CA for one of the holders' keys: every attestation is a
	// new card, as in production, and the node verifies every chain.
	SubjectsFresh = "fresh"
	// SubjectsHolders reuses the holders' certificates (with distinct claim
	// types, so no subject fills up): the node's certificate cache hits.
	SubjectsHolders = "holders"
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
	// Subjects is SubjectsFresh (default) or SubjectsHolders.
	Subjects string
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
	Subjects   string   `json:"subjects,omitempty"`
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

	AppCheck *AppCheck `json:"app_check,omitempty"`
}

// Latency percentiles.
type Latency struct {
	P50  Duration `json:"p50"`
	P95  Duration `json:"p95"`
	P99  Duration `json:"p99"`
	Max  Duration `json:"max"`
	Mean Duration `json:"mean"`
}

// Refusal counts refusals with one stage and code: stage "check" (the
// broadcast's CheckTx), "deliver" (committed with a non-zero code) or "rpc"
// (the broadcast failed; Code 0, Example says why).
type Refusal struct {
	Stage   string `json:"stage"`
	Code    uint32 `json:"code"`
	Count   int    `json:"count"`
	Example string `json:"example"`
}

// AppCheck is the result of LoadOptions.AppCheck.
type AppCheck struct {
	OK       bool     `json:"ok"`
	Passed   []string `json:"passed"`
	Problems []string `json:"problems,omitempty"`
}

// Duration is a time.Duration that JSON writes in milliseconds.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)), nil
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	ms, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("testnet: a duration is a number of milliseconds, got %s", b)
	}
	*d = Duration(ms * float64(time.Millisecond))
	return nil
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// loadTx is one prepared transaction and what happened to it.
type loadTx struct {
	raw    []byte
	target int // index into the run's targets
	lane   int // the sender (member, node) that sends it
	// For checks: the subject commitment and claim type (idledger), or the
	// key and value (kvstore).
	subject   []byte
	claimType string

	sentAt    time.Time
	sent      bool
	checkCode uint32
	checkLog  string
	rpcErr    string

	committed   bool
	committedAt time.Time
	height      int64
	code        uint32
	log         string
}

// Load runs a load test on the running testnet in opts.Dir: it prepares
// Rate×Duration transactions (for idledger, Attest transactions signed with
// the holders' keys and the target nodes' members, on every core), sends
// them at Rate, spread round-robin over the lanes (each target node's
// organisation and load members, one sender each, each member's
// transactions in order with broadcast_tx_sync), watches the blocks
// of the first target node for them, and reports throughput, latency and
// refusals. For a kvstore testnet it sends random key=value transactions
// of the size of an Attest transaction instead.
func Load(ctx context.Context, opts LoadOptions) (*LoadResult, error) {
	m, err := ReadManifest(opts.Dir)
	if err != nil {
		return nil, err
	}
	if opts.Subjects == "" {
		opts.Subjects = SubjectsFresh
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
		return nil, fmt.Errorf("testnet: rate %g: want more than 0 and at most %d tx/s", opts.Rate, MaxLoadRate)
	case opts.Duration <= 0 || opts.Duration > MaxLoadDuration:
		return nil, fmt.Errorf("testnet: duration %s: want more than 0 and at most %s", opts.Duration, MaxLoadDuration)
	case total > MaxLoadTxs:
		return nil, fmt.Errorf("testnet: %d transactions (rate × duration): at most %d", total, MaxLoadTxs)
	case opts.Subjects != SubjectsFresh && opts.Subjects != SubjectsHolders:
		return nil, fmt.Errorf("testnet: subjects %q: want %s or %s", opts.Subjects, SubjectsFresh, SubjectsHolders)
	case opts.Wait < 0 || opts.Wait > MaxLoadDuration:
		return nil, fmt.Errorf("testnet: wait %s: want at most %s", opts.Wait, MaxLoadDuration)
	}
	seen := map[int]bool{}
	for _, i := range opts.Nodes {
		if i < 0 || i >= len(m.Nodes) {
			return nil, fmt.Errorf("testnet: node %d: the testnet has nodes 0 to %d", i, len(m.Nodes)-1)
		}
		if seen[i] {
			return nil, fmt.Errorf("testnet: node %d given twice", i)
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
			return nil, fmt.Errorf("testnet: %w", err)
		}
	}

	var run [4]byte
	if _, err := rand.Read(run[:]); err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	g := &generator{m: m, opts: opts, run: hex.EncodeToString(run[:]), total: total, progress: progress}
	if err := g.setup(ctx); err != nil {
		return nil, err
	}
	if m.App == AppIdledger {
		res.Subjects = opts.Subjects
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
	st, err := rpcs[0].Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("testnet: %s: %w", res.Targets[0], err)
	}
	w := newWatcher(rpcs[0], st.SyncInfo.LatestBlockHeight, txs)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchDone := make(chan error, 1)
	go func() { watchDone <- w.run(watchCtx) }()

	fmt.Fprintf(progress, "sending %d transactions at %g tx/s to %s\n", len(txs), opts.Rate, strings.Join(res.Targets, ", "))
	sendStart := time.Now()
	sendDeadline := sendStart.Add(2*opts.Duration + 5*time.Second)
	var sentCount atomic.Int64
	var wg sync.WaitGroup
	for l := range g.lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(ctx, rpcs[l%len(opts.Nodes)], w, l, g.lanes, sendStart, opts.Rate, sendDeadline, &sentCount)
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

	accepted := 0
	w.mu.Lock()
	for _, tx := range txs {
		if tx.sent && tx.checkCode == 0 && tx.rpcErr == "" {
			accepted++
		}
	}
	w.mu.Unlock()
	w.sendDone()
	fmt.Fprintf(progress, "sent %d in %s; waiting up to %s for commits\n", sentCount.Load(), res.SendTime.D(), opts.Wait)
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
	stopWatch()
	if err := <-watchDone; err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	summarize(res, txs, sendStart, sendEnd, w)
	if opts.AppCheck {
		fmt.Fprintf(progress, "checking the application state\n")
		res.AppCheck = g.appCheck(ctx, txs, res)
	}
	return res, ctx.Err()
}

// send broadcasts lane t's transactions (t, t+n, t+2n, ...) in order,
// transaction k at start + k/rate, until deadline.
func send(ctx context.Context, c *rpchttp.HTTP, w *watcher, t, n int, start time.Time, rate float64, deadline time.Time, count *atomic.Int64) {
	txs := w.txs
	for k := t; k < len(txs); k += n {
		at := start.Add(time.Duration(float64(k) / rate * float64(time.Second)))
		if d := time.Until(at); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return
		}
		tx := txs[k]
		w.mu.Lock()
		tx.sentAt = time.Now()
		w.mu.Unlock()
		r, err := c.BroadcastTxSync(ctx, tx.raw)
		w.mu.Lock()
		tx.sent = true
		switch {
		case err != nil:
			tx.rpcErr = err.Error()
		case r.Code != 0:
			tx.checkCode, tx.checkLog = r.Code, r.Log
		}
		w.mu.Unlock()
		count.Add(1)
	}
}

// watcher polls one node for new blocks and marks the load transactions
// they hold.
type watcher struct {
	rpc     *rpchttp.HTTP
	txs     []*loadTx
	byHash  map[[32]byte]*loadTx
	allDone chan struct{}

	// mu guards the watcher's fields and the transactions' outcomes, which
	// the senders write.
	mu        sync.Mutex
	last      int64
	committed int
	sendEnded bool
	closed    bool
	first     int64
	lastHit   int64
	maxTxs    int
}

func newWatcher(c *rpchttp.HTTP, from int64, txs []*loadTx) *watcher {
	w := &watcher{rpc: c, txs: txs, byHash: make(map[[32]byte]*loadTx, len(txs)), allDone: make(chan struct{}), last: from}
	for _, tx := range txs {
		w.byHash[sha256.Sum256(tx.raw)] = tx
	}
	return w
}

func (w *watcher) committedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.committed
}

func (w *watcher) height() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// sendDone tells the watcher that nothing more will be sent: allDone
// closes once every accepted transaction is committed.
func (w *watcher) sendDone() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sendEnded = true
	w.checkDone()
}

func (w *watcher) checkDone() {
	if w.closed || !w.sendEnded {
		return
	}
	for _, tx := range w.txs {
		if tx.sent && tx.checkCode == 0 && tx.rpcErr == "" && !tx.committed {
			return
		}
	}
	w.closed = true
	close(w.allDone)
}

func (w *watcher) run(ctx context.Context) error {
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		st, err := w.rpc.Status(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if failures++; failures > 100 {
				return fmt.Errorf("testnet: watching blocks: %w", err)
			}
			continue
		}
		seenAt := time.Now()
		for h := w.height() + 1; h <= st.SyncInfo.LatestBlockHeight; h++ {
			if err := w.block(ctx, h, seenAt); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if failures++; failures > 100 {
					return fmt.Errorf("testnet: watching blocks: %w", err)
				}
				break
			}
			failures = 0
		}
	}
}

func (w *watcher) block(ctx context.Context, h int64, seenAt time.Time) error {
	b, err := w.rpc.Block(ctx, &h)
	if err != nil {
		return err
	}
	var results []uint32
	var logs []string
	if len(b.Block.Txs) > 0 {
		br, err := w.rpc.BlockResults(ctx, &h)
		if err != nil {
			return err
		}
		for _, r := range br.TxsResults {
			results = append(results, r.Code)
			logs = append(logs, r.Log)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	hits := 0
	for i, raw := range b.Block.Txs {
		tx, ok := w.byHash[sha256.Sum256(raw)]
		if !ok || tx.committed {
			continue
		}
		hits++
		tx.committed, tx.committedAt, tx.height = true, seenAt, h
		if i < len(results) {
			tx.code, tx.log = results[i], logs[i]
		}
		w.committed++
	}
	if hits > 0 {
		if w.first == 0 {
			w.first = h
		}
		w.lastHit = h
		w.maxTxs = max(w.maxTxs, hits)
	}
	w.last = h
	w.checkDone()
	return nil
}

func summarize(res *LoadResult, txs []*loadTx, sendStart, sendEnd time.Time, w *watcher) {
	type key struct {
		stage string
		code  uint32
	}
	refusals := map[key]*Refusal{}
	refuse := func(stage string, code uint32, example string) {
		k := key{stage, code}
		if r := refusals[k]; r != nil {
			r.Count++
			return
		}
		if len(example) > 200 {
			example = example[:200] + "…"
		}
		refusals[k] = &Refusal{Stage: stage, Code: code, Count: 1, Example: example}
	}
	res.Refusals = []Refusal{}
	var lat []time.Duration
	var lastCommit time.Time
	for _, tx := range txs {
		if !tx.sent {
			continue
		}
		res.Sent++
		switch {
		case tx.rpcErr != "":
			refuse("rpc", 0, tx.rpcErr)
		case tx.checkCode != 0:
			refuse("check", tx.checkCode, tx.checkLog)
		default:
			res.Accepted++
		}
		if !tx.committed {
			if tx.rpcErr == "" && tx.checkCode == 0 {
				res.Lost++
			}
			continue
		}
		lat = append(lat, tx.committedAt.Sub(tx.sentAt))
		if tx.committedAt.After(lastCommit) {
			lastCommit = tx.committedAt
		}
		if tx.code == 0 {
			res.Committed++
		} else {
			res.Failed++
			refuse("deliver", tx.code, tx.log)
		}
	}
	for _, r := range refusals {
		res.Refusals = append(res.Refusals, *r)
	}
	sort.Slice(res.Refusals, func(i, j int) bool {
		a, b := res.Refusals[i], res.Refusals[j]
		if a.Stage != b.Stage {
			return a.Stage < b.Stage
		}
		return a.Code < b.Code
	})
	if d := sendEnd.Sub(sendStart); d > 0 {
		res.OfferedTPS = round1(float64(res.Sent) / d.Seconds())
	}
	if d := lastCommit.Sub(sendStart); res.Committed > 0 && d > 0 {
		res.CommittedTPS = round1(float64(res.Committed) / d.Seconds())
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		pct := func(p float64) Duration {
			i := int(math.Ceil(p*float64(len(lat)))) - 1
			return Duration(lat[max(i, 0)].Round(time.Millisecond))
		}
		var sum time.Duration
		for _, d := range lat {
			sum += d
		}
		res.Latency = Latency{P50: pct(0.50), P95: pct(0.95), P99: pct(0.99), Max: Duration(lat[len(lat)-1].Round(time.Millisecond)),
			Mean: Duration((sum / time.Duration(len(lat))).Round(time.Millisecond))}
	}
	w.mu.Lock()
	res.FirstHeight, res.LastHeight, res.MaxBlockTxs = w.first, w.lastHit, w.maxTxs
	if w.first > 0 {
		res.Blocks = int(w.lastHit - w.first + 1)
	}
	w.mu.Unlock()
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// generator prepares a run's transactions.
type generator struct {
	m        *Manifest
	opts     LoadOptions
	run      string
	total    int
	progress io.Writer

	// idledger
	ca         *testca.CA
	holders    []*testca.Holder
	signers    []signer.Signer
	memberKeys [][]byte // ed25519 private keys, by lane
	members    []string // by lane
	seq0       []uint64 // by lane
	notAfter   int64

	// lanes are the senders: lane l sends to target l % len(opts.Nodes),
	// signed by its own member (idledger), so that a node gets several
	// ordered streams at once.
	lanes int
}

// setLanes counts the senders: each target node's organisation plus its
// load members (as many as every target has).
func (g *generator) setLanes() {
	per := 1 + LoadMembersPerNode
	for _, i := range g.opts.Nodes {
		per = min(per, 1+len(g.m.Nodes[i].LoadMembers))
	}
	g.lanes = per * len(g.opts.Nodes)
}

// laneMember names lane l's member and node index.
func (g *generator) laneMember(l int) (member string, nodeIdx, j int) {
	n := len(g.opts.Nodes)
	nodeIdx, j = g.opts.Nodes[l%n], l/n
	if j == 0 {
		return g.m.Nodes[nodeIdx].Member, nodeIdx, 0
	}
	return g.m.Nodes[nodeIdx].LoadMembers[j-1], nodeIdx, j
}

func (g *generator) setup(ctx context.Context) error {
	var err error
	if g.ca, err = testca.Load(filepath.Join(g.opts.Dir, g.m.CADir)); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	for _, name := range g.m.Holders {
		h, err := testca.LoadHolder(filepath.Join(g.opts.Dir, g.m.CADir), name)
		if err != nil {
			return fmt.Errorf("testnet: %w", err)
		}
		s, err := signer.NewSoft(h.Key, h.CertDER)
		if err != nil {
			return fmt.Errorf("testnet: holder %s: %w", name, err)
		}
		g.holders = append(g.holders, h)
		g.signers = append(g.signers, s)
	}
	g.notAfter = time.Now().Add(7 * 24 * time.Hour).Unix()
	g.setLanes()
	if g.m.App != AppIdledger {
		return nil
	}
	for l := range g.lanes {
		id, i, j := g.laneMember(l)
		var key ed25519.PrivateKey
		var err error
		if j == 0 {
			key, err = g.m.MemberKey(g.opts.Dir, i)
		} else {
			key, err = g.m.LoadMemberKey(g.opts.Dir, i, j)
		}
		if err != nil {
			return err
		}
		c, err := client.New(g.m.Nodes[i].RPCURL())
		if err != nil {
			return err
		}
		mem, err := c.Member(ctx, id)
		if err != nil {
			return fmt.Errorf("testnet: reading member %s's sequence from %s: %w", id, g.m.Nodes[i].Name, err)
		}
		g.memberKeys = append(g.memberKeys, key)
		g.members = append(g.members, mem.Id)
		g.seq0 = append(g.seq0, mem.Sequence)
	}
	return nil
}

// prepare builds every transaction on every core, reporting progress.
func (g *generator) prepare(ctx context.Context) ([]*loadTx, error) {
	txs := make([]*loadTx, g.total)
	if g.m.App != AppIdledger {
		sample, err := g.attestTx(ctx, nil, 0)
		if err != nil {
			return nil, err
		}
		for k := range txs {
			txs[k] = g.kvTx(k, len(sample.raw))
		}
		return txs, nil
	}
	fmt.Fprintf(g.progress, "pre-signing %d Attest transactions on %d cores (subjects: %s)\n", g.total, runtime.NumCPU(), g.opts.Subjects)
	var next, done atomic.Int64
	errs := make(chan error, runtime.NumCPU())
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// An in-memory CA of its own per worker: CA.Issue signs under a lock.
			ca := &testca.CA{Cert: g.ca.Cert, CertDER: g.ca.CertDER, Key: g.ca.Key}
			for {
				k := int(next.Add(1) - 1)
				if k >= g.total || ctx.Err() != nil {
					return
				}
				tx, err := g.attestTx(ctx, ca, k)
				if err != nil {
					errs <- err
					return
				}
				txs[k] = tx
				done.Add(1)
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			select {
			case err := <-errs:
				return nil, err
			default:
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return txs, nil
		case <-tick.C:
			n := done.Load()
			fmt.Fprintf(g.progress, "  signed %d of %d (%d%%)\n", n, g.total, 100*n/int64(g.total))
		}
	}
}

// attestTx builds transaction k: lane k%lanes, holder k%len(holders). With
// ca nil it builds a sample for its size (sequence 0, holder 1's
// certificate).
func (g *generator) attestTx(ctx context.Context, ca *testca.CA, k int) (*loadTx, error) {
	h := k % len(g.holders)
	holder := g.holders[h]
	certDER := holder.CertDER
	claimType := LoadClaimType
	var target, lane int
	var seq uint64
	var memberKey []byte
	member := "org0"
	if ca != nil {
		lane = k % g.lanes
		target = lane % len(g.opts.Nodes)
		seq = g.seq0[lane] + uint64(k/g.lanes)
		memberKey, member = g.memberKeys[lane], g.members[lane]
		switch g.opts.Subjects {
		case SubjectsFresh:
			c, err := ca.Issue(testca.IssueOptions{Name: fmt.Sprintf("load-%s-%d", g.run, k), Key: holder.Key})
			if err != nil {
				return nil, fmt.Errorf("testnet: %w", err)
			}
			certDER = c.CertDER
		case SubjectsHolders:
			claimType = fmt.Sprintf("load.%s.%d", g.run, k/len(g.holders))
		}
	}
	claim := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(g.run), uint64(k)))
	body, err := chain.EncodeBody(&chainpb.TxBody{
		ChainId:  g.m.ChainID,
		Signer:   member,
		Sequence: seq,
		Msg: &chainpb.TxBody_Attest{Attest: &chainpb.Attest{
			AuthCertificate: certDER,
			ClaimType:       claimType,
			ClaimHash:       claim[:],
			NotAfter:        g.notAfter,
		}},
	})
	if err != nil {
		return nil, err
	}
	sig, err := signer.Sign(ctx, g.signers[h], chain.SignBytes(body))
	if err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	if memberKey == nil {
		memberKey = make([]byte, 64) // a sample: any key makes a signature of the right size
	}
	raw, err := chain.EncodeTx(body, memberKey, sig)
	if err != nil {
		return nil, err
	}
	tx := &loadTx{raw: raw, target: target, lane: lane, claimType: claimType}
	if cert, err := x509.ParseCertificate(certDER); err == nil {
		c := jpki.Commitment(cert.RawIssuer, cert.SerialNumber)
		tx.subject = c[:]
	}
	return tx, nil
}

// kvTx is kvstore transaction k: "load-RUN-K=" and random hex up to size
// bytes.
func (g *generator) kvTx(k, size int) *loadTx {
	key := fmt.Sprintf("load-%s-%d", g.run, k)
	vlen := max(size-len(key)-1, 1)
	v := make([]byte, (vlen+1)/2)
	_, _ = rand.Read(v)
	value := hex.EncodeToString(v)[:vlen]
	lane := k % g.lanes
	return &loadTx{raw: []byte(key + "=" + value), target: lane % len(g.opts.Nodes), lane: lane, subject: []byte(key), claimType: value}
}

// appCheck checks the state after a run.
func (g *generator) appCheck(ctx context.Context, txs []*loadTx, res *LoadResult) *AppCheck {
	ac := &AppCheck{}
	pass := func(format string, args ...any) { ac.Passed = append(ac.Passed, fmt.Sprintf(format, args...)) }
	fail := func(format string, args ...any) { ac.Problems = append(ac.Problems, fmt.Sprintf(format, args...)) }
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	// The same app hash and block hash on every node at a common height.
	var heights []int64
	clients := make([]*rpchttp.HTTP, len(g.m.Nodes))
	for i, nd := range g.m.Nodes {
		c, err := rpchttp.NewWithTimeout(nd.RPCURL(), "/websocket", 5)
		if err != nil {
			fail("%s: %v", nd.Name, err)
			continue
		}
		st, err := c.Status(ctx)
		if err != nil {
			fail("%s does not answer: %v", nd.Name, err)
			continue
		}
		clients[i] = c
		heights = append(heights, st.SyncInfo.LatestBlockHeight)
	}
	if len(heights) > 0 {
		h := slices.Min(heights)
		var ref *cmttypes.Header
		agree := true
		for i, c := range clients {
			if c == nil {
				continue
			}
			hr, err := c.Header(ctx, &h)
			if err != nil {
				fail("%s: header %d: %v", g.m.Nodes[i].Name, h, err)
				agree = false
				continue
			}
			if ref == nil {
				ref = hr.Header
			} else if !slices.Equal(ref.AppHash, hr.Header.AppHash) || !slices.Equal(ref.Hash(), hr.Header.Hash()) {
				fail("%s disagrees at height %d: app hash %X, block %X; another node has %X, %X", g.m.Nodes[i].Name, h, hr.Header.AppHash, hr.Header.Hash(), ref.AppHash, ref.Hash())
				agree = false
			}
		}
		if agree && ref != nil {
			pass("%d nodes have the same block and app hash %X at height %d", len(heights), ref.AppHash, h)
		}
	}

	var committed []*loadTx
	for _, tx := range txs {
		if tx.committed && tx.code == 0 {
			committed = append(committed, tx)
		}
	}
	samples := committed
	if len(samples) > 3 {
		samples = []*loadTx{committed[0], committed[len(committed)/2], committed[len(committed)-1]}
	}
	reader := g.opts.Nodes[len(g.opts.Nodes)-1]
	readURL := g.m.Nodes[reader].RPCURL()

	if g.m.App != AppIdledger {
		for _, tx := range samples {
			r, err := clients[reader].ABCIQuery(ctx, "", tx.subject)
			switch {
			case err != nil:
				fail("kvstore query %s: %v", tx.subject, err)
			case string(r.Response.Value) != tx.claimType:
				fail("kvstore %s: stored value differs from the one sent", tx.subject)
			default:
				pass("kvstore has %s", tx.subject)
			}
		}
		ac.OK = len(ac.Problems) == 0
		return ac
	}

	// Member sequences moved by exactly the committed transactions.
	c, err := client.New(readURL)
	if err != nil {
		fail("%v", err)
		return ac
	}
	for t, id := range g.members {
		n := 0
		for _, tx := range committed {
			if tx.lane == t {
				n++
			}
		}
		mem, err := c.Member(ctx, id)
		switch {
		case err != nil:
			fail("member %s: %v", id, err)
		case mem.Sequence != g.seq0[t]+uint64(n):
			fail("member %s has sequence %d; %d + %d committed = %d expected", id, mem.Sequence, g.seq0[t], n, g.seq0[t]+uint64(n))
		default:
			pass("member %s sequence %d = %d + %d committed", id, mem.Sequence, g.seq0[t], n)
		}
	}

	// Verified reads of sample attestations, from the genesis on disk.
	doc, err := cmttypes.GenesisDocFromFile(filepath.Join(g.opts.Dir, g.m.Nodes[0].Home, node.GenesisFile))
	if err != nil {
		fail("genesis: %v", err)
		return ac
	}
	vc, err := client.New(readURL, client.WithGenesis(doc))
	if err != nil {
		fail("%v", err)
		return ac
	}
	for _, tx := range samples {
		st, err := vc.ClaimStatus(ctx, tx.subject, tx.claimType, true)
		switch {
		case err != nil:
			fail("verified status of %x %s: %v", tx.subject, tx.claimType, err)
		case st.State != chain.StateValid:
			fail("verified status of %x %s is %s, want valid", tx.subject, tx.claimType, st.State)
		default:
			pass("subject %x… %s: valid, proven against the app hash of block %d from %s", tx.subject[:6], tx.claimType, st.Height+1, g.m.Nodes[reader].Name)
		}
	}
	ac.OK = len(ac.Problems) == 0
	return ac
}
