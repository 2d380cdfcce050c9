package loadgen

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A fake RPC that answers batches as CometBFT does: one object for a batch
// of one, an array otherwise; tx "bad" is refused by CheckTx, tx "dup" with
// an RPC error. It records the order in which it saw the transactions.
func fakeRPC(t *testing.T, seen *[]string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var reqs []rpcRequest
		if err := json.Unmarshal(body, &reqs); err != nil {
			t.Errorf("not a batch: %s", body)
			return
		}
		var out []map[string]any
		for _, q := range reqs {
			raw, _ := q.Params["tx"].(string)
			tx := map[string]string{"YmFk": "bad", "ZHVw": "dup"}[raw]
			*seen = append(*seen, raw)
			switch tx {
			case "bad":
				out = append(out, map[string]any{"jsonrpc": "2.0", "id": q.ID, "result": map[string]any{"code": 7, "log": "sequence"}})
			case "dup":
				out = append(out, map[string]any{"jsonrpc": "2.0", "id": q.ID, "error": map[string]any{"code": -32603, "message": "Internal error", "data": "tx already exists in cache"}})
			default:
				out = append(out, map[string]any{"jsonrpc": "2.0", "id": q.ID, "result": map[string]any{"code": 0}})
			}
		}
		if len(out) == 1 {
			json.NewEncoder(w).Encode(out[0])
			return
		}
		json.NewEncoder(w).Encode(out)
	}))
}

func TestSenderBatchesInOrder(t *testing.T) {
	var seen []string
	srv := fakeRPC(t, &seen)
	defer srv.Close()
	raws := []string{"a", "b", "bad", "c", "dup", "d", "e"}
	var txs []*loadTx
	for _, r := range raws {
		txs = append(txs, &loadTx{raw: []byte(r)})
	}
	w := newWatcher(nil, 0, txs)
	var count atomic.Int64
	// All due at once: one batch of 7; then a single one answered as an object.
	s := newSender(srv.URL, w, 0, 1, time.Now().Add(-time.Hour), 1e6, time.Now().Add(time.Minute), &count)
	s.run(context.Background())
	if count.Load() != int64(len(raws)) {
		t.Fatalf("sent %d, want %d", count.Load(), len(raws))
	}
	for i, tx := range txs {
		if !tx.sent {
			t.Errorf("tx %d not marked sent", i)
		}
	}
	if txs[2].checkCode != 7 || txs[4].rpcErr == "" || txs[0].checkCode != 0 || txs[0].rpcErr != "" {
		t.Errorf("outcomes: bad %d, dup %q, a %d %q", txs[2].checkCode, txs[4].rpcErr, txs[0].checkCode, txs[0].rpcErr)
	}
	var want []string
	for _, r := range raws {
		want = append(want, base64.StdEncoding.EncodeToString([]byte(r)))
	}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("server saw %v, want %v in order", seen, want)
	}
	one := &loadTx{raw: []byte("z")}
	w1 := newWatcher(nil, 0, []*loadTx{one})
	newSender(srv.URL, w1, 0, 1, time.Now().Add(-time.Hour), 1e6, time.Now().Add(time.Minute), &count).run(context.Background())
	if !one.sent || one.rpcErr != "" || one.checkCode != 0 {
		t.Errorf("a batch of one answered as an object: sent %v, rpc %q, code %d", one.sent, one.rpcErr, one.checkCode)
	}
}
