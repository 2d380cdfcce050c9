package loadgen

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"
)

// watcher polls one node for new blocks and marks the load transactions
// they hold.
type watcher struct {
	rpc     *blockReader
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

func newWatcher(c *blockReader, from int64, txs []*loadTx) *watcher {
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
		latest, err := w.rpc.latestHeight(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if failures++; failures > 100 {
				return fmt.Errorf("loadgen: watching blocks: %w", err)
			}
			continue
		}
		seenAt := time.Now()
		for h := w.height() + 1; h <= latest; h++ {
			if err := w.block(ctx, h, seenAt); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if failures++; failures > 100 {
					return fmt.Errorf("loadgen: watching blocks: %w", err)
				}
				break
			}
			failures = 0
		}
	}
}

func (w *watcher) block(ctx context.Context, h int64, seenAt time.Time) error {
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
	w.last = h
	w.checkDone()
	return nil
}
