package testnet_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

var metricNameRe = regexp.MustCompile(`\b(?:idledger|cometbft)_[a-z0-9_]+`)

// dashboardMetrics returns every metric name the dashboard's queries and
// template variables name.
func dashboardMetrics(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "expr" || k == "query") {
					for _, n := range metricNameRe.FindAllString(s, -1) {
						seen[n] = true
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// TestDashboardMetricsExist scrapes a running 2-validator testnet node's
// Prometheus endpoint and checks that every metric the Grafana dashboard
// names is exported, among them the app's idledger_ metrics.
func TestDashboardMetricsExist(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 2-validator testnet")
	}
	names := dashboardMetrics(t, filepath.Join("..", "dashboards", "idledger.json"))
	for _, want := range []string{"idledger_attestations_total", "idledger_revocations_total", "idledger_refusals_total",
		"idledger_check_seconds_bucket", "idledger_cert_cache_hits_total", "idledger_state_keys", "idledger_feed_peers"} {
		if !contains(names, want) {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	m, n := startTwoValidators(ctx, t, "metrics")
	// A refusal, so that the refusals counter has a series.
	c, err := rpchttp.New(n.RPCURL(0), "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.BroadcastTxSync(ctx, []byte("not a transaction")); err != nil || res.Code == 0 {
		t.Fatalf("junk transaction: %v %v", res, err)
	}
	if err := n.WaitHeight(ctx, []int{0, 1}, 3, 2*time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	url := "http://" + m.Nodes[0].Prometheus + "/metrics"
	var missing []string
	for tries := 0; ; tries++ {
		exported := scrape(t, url)
		missing = missing[:0]
		for _, name := range names {
			if !exported[name] {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 || tries == 20 {
			break
		}
		time.Sleep(500 * time.Millisecond) // peers' gauges appear once connected
	}
	if len(missing) > 0 {
		t.Fatalf("the dashboard names metrics %s does not export: %s", url, strings.Join(missing, ", "))
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// scrape returns the metric names (with _bucket, _sum, _count) url exports.
func scrape(t *testing.T, url string) map[string]bool {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			out[line[:i]] = true
		}
	}
	return out
}
