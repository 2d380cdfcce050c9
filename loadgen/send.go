package loadgen

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// MaxBatch bounds the transactions of one JSON-RPC batch: CometBFT's RPC
// refuses a batch of more than rpc.max_request_batch_size calls (default
// 10) as a whole.
const MaxBatch = 10

// sender sends one lane's transactions (t, t+n, t+2n, ...) in order:
// transaction k is due at start + k/rate, and every due transaction goes
// out at once in one JSON-RPC batch of broadcast_tx_sync calls on the
// lane's own connection. CometBFT runs a batch's calls in order, so a
// member's sequence order holds; the sender never waits on one reply
// before sending the next transaction that is due, only on the batch.
type sender struct {
	url      string
	http     *http.Client
	w        *watcher
	lane, n  int
	start    time.Time
	rate     float64
	deadline time.Time
	count    *atomic.Int64
}

func newSender(url string, w *watcher, lane, n int, start time.Time, rate float64, deadline time.Time, count *atomic.Int64) *sender {
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}
	return &sender{url: url, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, w: w, lane: lane, n: n,
		start: start, rate: rate, deadline: deadline, count: count}
}

func (s *sender) due(k int) time.Time {
	return s.start.Add(time.Duration(float64(k) / s.rate * float64(time.Second)))
}

func (s *sender) run(ctx context.Context) {
	defer s.http.CloseIdleConnections()
	txs := s.w.txs
	for k := s.lane; k < len(txs); {
		if d := time.Until(s.due(k)); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		if ctx.Err() != nil || time.Now().After(s.deadline) {
			return
		}
		now := time.Now()
		var batch []int
		for ; k < len(txs) && len(batch) < MaxBatch && !s.due(k).After(now); k += s.n {
			batch = append(batch, k)
		}
		s.send(ctx, batch)
	}
}

type rpcRequest struct {
	JSONRPC string         `json:"jsonrpc"`
	ID      int            `json:"id"`
	Method  string         `json:"method"`
	Params  map[string]any `json:"params"`
}

// rpcResponse is one answer of a batch: broadcast_tx_sync's result carries
// CheckTx's code and log, as a block result does (blocks.go).
type rpcResponse struct {
	ID     int       `json:"id"`
	Result *txResult `json:"result"`
	Error  *rpcError `json:"error"`
}

// send broadcasts the transactions at indexes ks in one batch and records
// each answer.
func (s *sender) send(ctx context.Context, ks []int) {
	reqs := make([]rpcRequest, len(ks))
	for i, k := range ks {
		reqs[i] = rpcRequest{JSONRPC: "2.0", ID: i, Method: "broadcast_tx_sync",
			Params: map[string]any{"tx": base64.StdEncoding.EncodeToString(s.w.txs[k].raw)}}
	}
	now := time.Now()
	s.w.mu.Lock()
	for _, k := range ks {
		s.w.txs[k].sentAt = now
	}
	s.w.mu.Unlock()
	resps, err := s.post(ctx, reqs)
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	for i, k := range ks {
		tx := s.w.txs[k]
		tx.sent = true
		var r *rpcResponse
		if err == nil {
			r = resps[i]
		}
		switch {
		case err != nil:
			tx.rpcErr = err.Error()
		case r == nil:
			tx.rpcErr = "no answer in the batch"
		case r.Error != nil:
			tx.rpcErr = fmt.Sprintf("%s: %s", r.Error.Message, r.Error.Data)
		case r.Result == nil:
			tx.rpcErr = "empty answer"
		case r.Result.Code != 0:
			tx.checkCode, tx.checkLog = r.Result.Code, r.Result.Log
		}
	}
	s.count.Add(int64(len(ks)))
}

// post sends one batch and returns the answers by request ID.
func (s *sender) post(ctx context.Context, reqs []rpcRequest) ([]*rpcResponse, error) {
	body, err := json.Marshal(reqs)
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	res, err := s.http.Do(hr)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s: %.200s", strconv.Itoa(res.StatusCode), raw)
	}
	var list []rpcResponse
	if raw = bytes.TrimSpace(raw); len(raw) > 0 && raw[0] == '{' {
		// CometBFT answers a batch of one with a single object.
		list = make([]rpcResponse, 1)
		if err := json.Unmarshal(raw, &list[0]); err != nil {
			return nil, fmt.Errorf("answer: %w: %.200s", err, raw)
		}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("batch answer: %w: %.200s", err, raw)
	}
	out := make([]*rpcResponse, len(reqs))
	for i := range list {
		if id := list[i].ID; id >= 0 && id < len(out) {
			out[id] = &list[i]
		}
	}
	return out, nil
}
