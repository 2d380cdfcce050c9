package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// blockReader reads what the block watcher needs from a node's RPC (the
// latest height, a block's transactions, their result codes) with plain
// GETs, decoding only those fields. CometBFT's RPC client decodes every
// field of a block and of its results through reflection and gogoproto's
// JSON: at 1,000 transactions a second that was most of the load
// generator's CPU time (about 600 µs a transaction), taken from the
// nodes it measures on a shared machine.
type blockReader struct {
	base   string // http://host:port
	client *http.Client
}

// maxBlockResponse bounds a response the watcher reads: a block of
// CometBFT's largest size (100 MiB) in base64 and JSON.
const maxBlockResponse = 160 << 20

func newBlockReader(rpcURL string) *blockReader {
	return &blockReader{base: rpcURL, client: &http.Client{Timeout: 30 * time.Second}}
}

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data"`
}

func (e *rpcError) Error() string {
	return fmt.Sprintf("RPC error %d: %s %s", e.Code, e.Message, e.Data)
}

// get fetches path and decodes its JSON-RPC response (one pass: its
// result into a T, or its error).
func get[T any](ctx context.Context, r *blockReader, path string) (*T, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBlockResponse+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxBlockResponse {
		return nil, fmt.Errorf("%s: response over %d bytes", path, maxBlockResponse)
	}
	return decodeRPC[T](path, body)
}

// decodeRPC decodes a JSON-RPC response: its result, or its error.
func decodeRPC[T any](path string, body []byte) (*T, error) {
	var env struct {
		Result *T        `json:"result"`
		Error  *rpcError `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if env.Error != nil {
		return nil, fmt.Errorf("%s: %w", path, env.Error)
	}
	if env.Result == nil {
		return nil, fmt.Errorf("%s: %w", path, errNoResult)
	}
	return env.Result, nil
}

var errNoResult = errors.New("no result in the response")

// statusResult, blockResult and blockResultsResult are the fields the
// watcher reads of /status, /block and /block_results.
type (
	statusResult struct {
		SyncInfo struct {
			LatestBlockHeight flexInt `json:"latest_block_height"`
		} `json:"sync_info"`
	}
	blockResult struct {
		Block struct {
			Data struct {
				Txs [][]byte `json:"txs"` // base64
			} `json:"data"`
		} `json:"block"`
	}
	blockResultsResult struct {
		TxsResults []txResult `json:"txs_results"`
	}
)

// txResult is what the watcher keeps of a transaction's result.
type txResult struct {
	Code uint32 `json:"code"`
	Log  string `json:"log"`
}

// latestHeight is /status's latest block height.
func (r *blockReader) latestHeight(ctx context.Context) (int64, error) {
	st, err := get[statusResult](ctx, r, "/status")
	if err != nil {
		return 0, err
	}
	return int64(st.SyncInfo.LatestBlockHeight), nil
}

// blockTxs is block h's transactions.
func (r *blockReader) blockTxs(ctx context.Context, h int64) ([][]byte, error) {
	b, err := get[blockResult](ctx, r, "/block?height="+strconv.FormatInt(h, 10))
	if err != nil {
		return nil, err
	}
	return b.Block.Data.Txs, nil
}

// blockResults is block h's transactions' result codes and logs, in block
// order.
func (r *blockReader) blockResults(ctx context.Context, h int64) ([]txResult, error) {
	br, err := get[blockResultsResult](ctx, r, "/block_results?height="+strconv.FormatInt(h, 10))
	if err != nil {
		return nil, err
	}
	return br.TxsResults, nil
}

// maxMetas is the most block metas /blockchain returns at once.
const maxMetas = 20

// flexInt is a JSON integer CometBFT writes as a string ("12") or a number.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %q", b)
	}
	*n = flexInt(v)
	return nil
}

type blockchainResult struct {
	BlockMetas []struct {
		Header struct {
			Height flexInt `json:"height"`
		} `json:"header"`
		NumTxs flexInt `json:"num_txs"`
	} `json:"block_metas"`
}

// txCounts is the number of transactions in each block from lo to hi (at
// most maxMetas heights), from the blocks' metadata alone.
func (r *blockReader) txCounts(ctx context.Context, lo, hi int64) (map[int64]int, error) {
	res, err := get[blockchainResult](ctx, r, fmt.Sprintf("/blockchain?minHeight=%d&maxHeight=%d", lo, hi))
	if err != nil {
		return nil, err
	}
	out := make(map[int64]int, hi-lo+1)
	for _, m := range res.BlockMetas {
		if h := int64(m.Header.Height); h >= lo && h <= hi && m.NumTxs >= 0 {
			out[h] = int(m.NumTxs)
		}
	}
	if int64(len(out)) != hi-lo+1 {
		return nil, fmt.Errorf("/blockchain: %d of the metas of heights %d-%d", len(out), lo, hi)
	}
	return out, nil
}
