package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// The growth command's JSON has the fields benchmark scripts read.
func TestBenchGrowthSmoke(t *testing.T) {
	code, out, errOut := run(t, "bench", "growth", "--to", "300", "--first", "300", "--block-size", "100", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Checkpoints []map[string]float64 `json:"checkpoints"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(res.Checkpoints) != 1 {
		t.Fatalf("checkpoints: %s", out)
	}
	for _, f := range []string{"attestations", "commit_us_per_attestation", "disk_bytes_per_attestation", "query_proof_us"} {
		if _, ok := res.Checkpoints[0][f]; !ok {
			t.Errorf("no %q in %s", f, out)
		}
	}
	if !strings.Contains(errOut, "growth: 300 of 300 attestations") {
		t.Errorf("no progress on stderr: %q", errOut)
	}
	if code, _, errOut := run(t, "bench", "growth", "--to", "5"); code != 2 {
		t.Errorf("--to 5: exit %d (%s), want a usage error", code, errOut)
	}
}
