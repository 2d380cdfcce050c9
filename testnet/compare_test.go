package testnet_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/idledger/idledger/loadgen"
)

// TestCompareSmoke: `testnet load --compare kvstore` with a latency run, at
// a rate far below either app's ceiling (a smoke run: it asserts what was
// sent and committed, never a speed), on one validator each.
func TestCompareSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two testnets")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	x := &tn{t: t, ctx: ctx}
	out := x.run("testnet", "load", "--compare", "kvstore", "--validators", "1", "--work", t.TempDir(),
		"--rate", "20", "--duration", "2s", "--latency-rate", "10", "--wait", "30s", "-o", "json")
	var res loadgen.CompareResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("compare: %v in %s", err, out)
	}
	runs := map[string]*loadgen.LoadResult{"kvstore": res.KVStore, "idledger": res.Idledger,
		"kvstore latency": res.KVStoreLatency, "idledger latency": res.IdledgerLatency}
	for name, r := range runs {
		if r == nil {
			t.Fatalf("no %s run in %s", name, out)
		}
		if r.Sent == 0 || r.Committed != r.Sent || len(r.Refusals) != 0 {
			t.Errorf("%s run: sent %d, committed %d, refusals %v", name, r.Sent, r.Committed, r.Refusals)
		}
		// The nodes' CPU is read from /proc (these tests run on Linux).
		if c := r.CPU; c == nil || c.Nodes <= 0 || c.NodeUsPerTx <= 0 || c.Cores <= 0 {
			t.Errorf("%s run: CPU %+v, want the nodes' time measured", name, c)
		}
	}
	if res.CPUBoundRatio <= 0 {
		t.Errorf("cpu_bound_ratio %g: want it", res.CPUBoundRatio)
	}
	if res.KVStoreLatency.Rate != 10 || res.Idledger.Rate != 20 {
		t.Errorf("rates: throughput run %g, latency run %g; want 20 and 10", res.Idledger.Rate, res.KVStoreLatency.Rate)
	}
	if res.Ratio <= 0 || res.LatencyRatio <= 0 {
		t.Errorf("ratios %g, %g: want both", res.Ratio, res.LatencyRatio)
	}
}
