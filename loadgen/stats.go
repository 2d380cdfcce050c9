package loadgen

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"
)

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

// Duration is a time.Duration that JSON writes in milliseconds.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)), nil
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	ms, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("loadgen: a duration is a number of milliseconds, got %s", b)
	}
	*d = Duration(ms * float64(time.Millisecond))
	return nil
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

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
