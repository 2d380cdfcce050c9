package loadgen

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"
)

// watcher follows one node's blocks while the load runs, and afterwards
// finds the load transactions in them.
//
// During the timed phase it asks the node only for what is small: the
// latest height (/status, every 20ms: the moment a height is first seen is
// the commit time of every transaction in it) and the blocks' transaction
// counts (/blockchain), which tell when everything accepted may have
// committed. The blocks themselves and their results (/block,
// /block_results) are read after the timed phase: a node encodes a block
// of 3,000 transactions and their results in JSON through reflection, and
// doing that while it is measured took about a fifth of its CPU (kvstore,
// one validator, 1,300 tx/s), on the cores it shares with the load.
type watcher struct {
	rpc     *blockReader
	txs     []*loadTx
	byHash  map[[32]byte]*loadTx
	allDone chan struct{}

	// mu guards the watcher's fields and the transactions' outcomes, which
	// the senders write.
	mu        sync.Mutex
	from      int64               // the height before the load
	last      int64               // the highest height seen
	seenAt    map[int64]time.Time // height -> when it was first seen
	counted   int64               // heights up to this have their counts in inBlocks
	inBlocks  int                 // transactions in blocks from+1..counted (load or not)
	collected int64               // heights up to this are read (collect)
	committed int                 // load transactions found in read blocks
	sendEnded bool
	closed    bool
	first     int64
	lastHit   int64
	maxTxs    int
}

func newWatcher(c *blockReader, from int64, txs []*loadTx) *watcher {
	w := &watcher{rpc: c, txs: txs, byHash: make(map[[32]byte]*loadTx, len(txs)), allDone: make(chan struct{}),
		from: from, last: from, counted: from, collected: from, seenAt: map[int64]time.Time{}}
	for _, tx := range txs {
		w.byHash[sha256.Sum256(tx.raw)] = tx
	}
	return w
}

// committedCount is how many transactions the blocks since the load began
// hold (during the run: a count of every transaction, which is the load's
// on a testnet), or the load transactions found in them once collected.
func (w *watcher) committedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return max(w.committed, w.inBlocks)
}

func (w *watcher) height() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// sendDone tells the watcher that nothing more will be sent: allDone
// closes once the blocks hold as many transactions as were accepted.
func (w *watcher) sendDone() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sendEnded = true
	w.checkDone()
}

// accepted counts the transactions sent and admitted by CheckTx.
func (w *watcher) accepted() int {
	n := 0
	for _, tx := range w.txs {
		if tx.sent && tx.checkCode == 0 && tx.rpcErr == "" {
			n++
		}
	}
	return n
}

func (w *watcher) checkDone() {
	if w.closed || !w.sendEnded {
		return
	}
	if w.inBlocks < w.accepted() && w.committed < w.accepted() {
		return
	}
	w.closed = true
	close(w.allDone)
}

// run follows the node until ctx ends.
func (w *watcher) run(ctx context.Context) error {
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		err := w.poll(ctx)
		if err == nil {
			failures = 0
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if failures++; failures > 100 {
			return fmt.Errorf("loadgen: watching blocks: %w", err)
		}
	}
}

// poll notes the new heights and counts their transactions.
func (w *watcher) poll(ctx context.Context) error {
	latest, err := w.rpc.latestHeight(ctx)
	if err != nil {
		return err
	}
	seenAt := time.Now()
	w.mu.Lock()
	for h := w.last + 1; h <= latest; h++ {
		w.seenAt[h] = seenAt
	}
	w.last = max(w.last, latest)
	counted := w.counted
	w.mu.Unlock()
	for counted < latest {
		hi := min(latest, counted+maxMetas)
		counts, err := w.rpc.txCounts(ctx, counted+1, hi)
		if err != nil {
			return err
		}
		w.mu.Lock()
		for h := counted + 1; h <= hi; h++ {
			w.inBlocks += counts[h]
		}
		w.counted, counted = hi, hi
		w.checkDone()
		w.mu.Unlock()
	}
	return nil
}

// collect reads the blocks seen and not read yet and marks the load
// transactions they hold: committed at the moment their height was first
// seen, with their result codes. It reports whether every accepted
// transaction is found.
func (w *watcher) collect(ctx context.Context) (bool, error) {
	w.mu.Lock()
	from, to := w.collected+1, w.last
	w.mu.Unlock()
	for h := from; h <= to; h++ {
		if err := w.block(ctx, h); err != nil {
			return false, err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.committed >= w.accepted(), nil
}

func (w *watcher) block(ctx context.Context, h int64) error {
	txs, err := w.rpc.blockTxs(ctx, h)
	if err != nil {
		return err
	}
	var results []txResult
	if len(txs) > 0 {
		if results, err = w.rpc.blockResults(ctx, h); err != nil {
			return err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	seenAt, ok := w.seenAt[h]
	if !ok {
		seenAt = time.Now()
	}
	hits := 0
	for i, raw := range txs {
		tx, ok := w.byHash[sha256.Sum256(raw)]
		if !ok || tx.committed {
			continue
		}
		hits++
		tx.committed, tx.committedAt, tx.height = true, seenAt, h
		if i < len(results) {
			tx.code, tx.log = results[i].Code, results[i].Log
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
	w.collected = max(w.collected, h)
	return nil
}
