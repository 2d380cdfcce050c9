package loadgen

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Shapes of CometBFT v0.40's /status, /block and /block_results, cut down
// but with the fields around the ones the watcher reads.
const (
	statusJSON  = `{"jsonrpc":"2.0","id":-1,"result":{"node_info":{"moniker":"node0"},"sync_info":{"latest_block_hash":"AB","latest_block_height":"1234","catching_up":false}}}`
	blockJSON   = `{"jsonrpc":"2.0","id":-1,"result":{"block_id":{"hash":"AB"},"block":{"header":{"height":"7"},"data":{"txs":["aGVsbG8=","d29ybGQ="]},"evidence":{"evidence":[]},"last_commit":{"signatures":[]}}}}`
	resultsJSON = `{"jsonrpc":"2.0","id":-1,"result":{"height":"7","txs_results":[{"code":0,"data":null,"log":"","events":[{"type":"attest","attributes":[{"key":"id","value":"00","index":true}]}]},{"code":41,"log":"not-after is past","codespace":"idledger"}],"finalize_block_events":[]}}`
)

func TestBlockReader(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/status":
			w.Write([]byte(statusJSON))
		case "/block":
			if r.URL.Query().Get("height") != "7" {
				w.Write([]byte(`{"jsonrpc":"2.0","id":-1,"error":{"code":-32603,"message":"Internal error","data":"height 8 must be less than or equal to the current blockchain height 7"}}`))
				return
			}
			w.Write([]byte(blockJSON))
		case "/block_results":
			w.Write([]byte(resultsJSON))
		case "/blockchain":
			if q := r.URL.Query(); q.Get("minHeight") != "6" {
				t.Errorf("/blockchain %s", r.URL.RawQuery)
			}
			w.Write([]byte(`{"jsonrpc":"2.0","id":-1,"result":{"last_height":"9","block_metas":[{"block_id":{"hash":"AB"},"block_size":"574","header":{"height":"7"},"num_txs":"2"},{"header":{"height":"6"},"num_txs":0}]}}`))
		}
	}))
	defer srv.Close()
	r := newBlockReader(srv.URL)
	ctx := context.Background()
	if h, err := r.latestHeight(ctx); err != nil || h != 1234 {
		t.Fatalf("latestHeight: %d, %v", h, err)
	}
	txs, err := r.blockTxs(ctx, 7)
	if err != nil || len(txs) != 2 || !bytes.Equal(txs[0], []byte("hello")) || !bytes.Equal(txs[1], []byte("world")) {
		t.Fatalf("blockTxs: %q, %v", txs, err)
	}
	res, err := r.blockResults(ctx, 7)
	if err != nil || len(res) != 2 || res[0].Code != 0 || res[1].Code != 41 || res[1].Log != "not-after is past" {
		t.Fatalf("blockResults: %+v, %v", res, err)
	}
	if n, err := r.txCounts(ctx, 6, 7); err != nil || n[6] != 0 || n[7] != 2 {
		t.Fatalf("txCounts: %v, %v", n, err)
	}
	if _, err := r.txCounts(ctx, 6, 8); err == nil {
		t.Fatal("txCounts with a meta missing: want an error")
	}
	if _, err := r.blockTxs(ctx, 8); err == nil || !strings.Contains(err.Error(), "current blockchain height") {
		t.Fatalf("a height not there yet: %v, want the node's error", err)
	}
}

func TestDecodeRPCRefuses(t *testing.T) {
	for _, body := range []string{``, `{}`, `{"result":null}`, `not json`, `{"result":{"sync_info":{"latest_block_height":"five"}}}`} {
		if _, err := decodeRPC[statusResult]("/status", []byte(body)); err == nil {
			t.Errorf("%q: want an error", body)
		}
	}
}

func FuzzDecodeRPC(f *testing.F) {
	for _, s := range []string{statusJSON, blockJSON, resultsJSON, `{"error":{"code":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if b, err := decodeRPC[blockResult]("/block", body); err == nil && b == nil {
			t.Fatal("no error and no result")
		}
		if r, err := decodeRPC[blockResultsResult]("/block_results", body); err == nil && r == nil {
			t.Fatal("no error and no result")
		}
		if r, err := decodeRPC[blockchainResult]("/blockchain", body); err == nil && r == nil {
			t.Fatal("no error and no result")
		}
	})
}
