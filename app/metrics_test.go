package app

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idledger/idledger/chain"
)

// gathered returns the value of every series in reg by metric name and
// label values ("name" or "name{v1,v2}").
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			if len(m.GetLabel()) > 0 {
				key += "{"
				for i, l := range m.GetLabel() {
					if i > 0 {
						key += ","
					}
					key += l.GetValue()
				}
				key += "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[key] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

// TestMetricsCountCommittedRevocations: the counters follow the events of
// accepted transactions; a RevokeSubjects counts its newly revoked subjects.
func TestMetricsCountCommittedRevocations(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	if g := gathered(t, reg); g["idledger_revocations_total{subject}"] != 0 || len(g) < 5 {
		t.Fatalf("before any transaction: %v", g)
	}
	m.accepted(&chain.Result{Events: []chain.Event{{Type: "attest"}}})
	m.accepted(&chain.Result{Events: []chain.Event{{Type: "revoke_attestation"}}})
	m.accepted(&chain.Result{Events: []chain.Event{
		{Type: "revoke_subject_claim"}, {Type: "revoke_subjects", Attrs: []chain.Attr{{Key: "revoked", Value: "3"}, {Key: "already_revoked", Value: "1"}}},
	}})
	m.refused(chain.CodeBadSequence)
	m.timeCheck()()
	m.SetFeedPeers(func() int { return 4 })
	g := gathered(t, reg)
	for k, want := range map[string]float64{
		"idledger_attestations_total":             1,
		"idledger_revocations_total{attestation}": 1,
		"idledger_revocations_total{subject}":     3,
		"idledger_check_seconds":                  1,
		"idledger_feed_peers":                     4,
	} {
		if g[k] != want {
			t.Errorf("%s = %v, want %v", k, g[k], want)
		}
	}
	refusals := 0.0
	for k, v := range g {
		if len(k) > len("idledger_refusals_total") && k[:len("idledger_refusals_total")] == "idledger_refusals_total" {
			refusals += v
		}
	}
	if refusals != 1 {
		t.Errorf("refusals %v, want 1", refusals)
	}
}
