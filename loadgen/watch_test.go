package loadgen

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeChain serves /status, /blockchain, /block and /block_results for
// blocks that grow while a test runs, and counts the /block reads.
type fakeChain struct {
	mu         sync.Mutex
	blocks     [][][]byte // height h is blocks[h-1]
	codes      map[string]uint32
	blockReads int
}

func (c *fakeChain) add(txs ...[]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blocks = append(c.blocks, txs)
}

func (c *fakeChain) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reply := func(result any) {
		json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": -1, "result": result})
	}
	height := func(name string) int {
		h, _ := strconv.Atoi(r.URL.Query().Get(name))
		return h
	}
	switch r.URL.Path {
	case "/status":
		reply(map[string]any{"sync_info": map[string]any{"latest_block_height": strconv.Itoa(len(c.blocks))}})
	case "/blockchain":
		var metas []any
		for h := min(height("maxHeight"), len(c.blocks)); h >= height("minHeight"); h-- {
			metas = append(metas, map[string]any{"header": map[string]any{"height": strconv.Itoa(h)}, "num_txs": strconv.Itoa(len(c.blocks[h-1]))})
		}
		reply(map[string]any{"block_metas": metas})
	case "/block":
		c.blockReads++
		var txs []string
		for _, tx := range c.blocks[height("height")-1] {
			txs = append(txs, base64.StdEncoding.EncodeToString(tx))
		}
		reply(map[string]any{"block": map[string]any{"data": map[string]any{"txs": txs}}})
	case "/block_results":
		var res []any
		for _, tx := range c.blocks[height("height")-1] {
			res = append(res, map[string]any{"code": c.codes[string(tx)], "log": "", "events": []any{}})
		}
		reply(map[string]any{"txs_results": res})
	}
}

// TestWatcherCollectsAfterTheRun: while the load runs the watcher reads no
// block, only heights and counts; allDone closes when the blocks hold what
// was accepted; collect then finds each transaction, at the time its
// height was first seen, with its code.
func TestWatcherCollectsAfterTheRun(t *testing.T) {
	chain := &fakeChain{codes: map[string]uint32{"tx-3": 41}}
	chain.add() // height 1: before the load
	srv := httptest.NewServer(chain)
	defer srv.Close()
	var txs []*loadTx
	for i := range 6 {
		txs = append(txs, &loadTx{raw: []byte(fmt.Sprintf("tx-%d", i)), sent: true})
	}
	w := newWatcher(newBlockReader(srv.URL), 1, txs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.run(ctx) }()

	chain.add(txs[0].raw, txs[1].raw, []byte("someone else's"))
	chain.add()
	chain.add(txs[2].raw, txs[3].raw)
	w.sendDone()
	select {
	case <-w.allDone:
		t.Fatal("allDone with 5 of 6 in the blocks")
	case <-time.After(300 * time.Millisecond):
	}
	chain.add(txs[4].raw, txs[5].raw)
	select {
	case <-w.allDone:
	case <-time.After(30 * time.Second):
		t.Fatal("allDone never closed")
	}
	chain.mu.Lock()
	reads := chain.blockReads
	chain.mu.Unlock()
	if reads != 0 {
		t.Fatalf("%d blocks read during the run, want none", reads)
	}
	all, err := w.collect(ctx)
	if err != nil || !all {
		t.Fatalf("collect: %v, %v", all, err)
	}
	cancel()
	<-done
	wantHeight := []int64{2, 2, 4, 4, 5, 5}
	for i, tx := range txs {
		if !tx.committed || tx.height != wantHeight[i] || tx.committedAt != w.seenAt[tx.height] {
			t.Errorf("tx %d: committed %v at height %d (%v), want height %d at %v", i, tx.committed, tx.height, tx.committedAt, wantHeight[i], w.seenAt[wantHeight[i]])
		}
	}
	if txs[3].code != 41 || txs[2].code != 0 {
		t.Errorf("codes %d, %d; want 0, 41", txs[2].code, txs[3].code)
	}
	if w.first != 2 || w.lastHit != 5 || w.maxTxs != 2 || w.committed != 6 {
		t.Errorf("first %d, last %d, most %d, committed %d", w.first, w.lastHit, w.maxTxs, w.committed)
	}
}
