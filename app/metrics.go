package app

import (
	"io/fs"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idledger/idledger/chain"
)

// Metrics are the app's own Prometheus metrics, served on CometBFT's
// Prometheus endpoint beside its own (namespace "idledger"). Every name is
// listed in docs/operators.md and used by dashboards/idledger.json.
type Metrics struct {
	Attestations prometheus.Counter
	// Revocations counts committed revocations by kind: "attestation" (one
	// RevokeAttestation) and "subject" (each newly revoked subject of a
	// RevokeSubjects).
	Revocations *prometheus.CounterVec
	Refusals    *prometheus.CounterVec
	DeliverTime prometheus.Histogram
	// CheckTime is the time CheckTx takes: decoding and verifying the
	// transaction's signatures and certificate chain, then running it.
	CheckTime   prometheus.Histogram
	TxCacheHits prometheus.Counter
	Height      prometheus.Gauge
	// StateKeys is the number of keys in the committed state tree.
	StateKeys prometheus.Gauge
	// UpgradeHeight is the height of the scheduled upgrade (0: none).
	UpgradeHeight prometheus.Gauge

	feedMu    sync.Mutex
	feedPeers func() int
}

func newMetrics() *Metrics {
	m := &Metrics{
		Attestations: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "idledger", Name: "attestations_total", Help: "Attestations committed."}),
		Revocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "idledger", Name: "revocations_total", Help: "Revocations committed, by kind: attestation or subject."}, []string{"kind"}),
		Refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "idledger", Name: "refusals_total", Help: "Transactions refused (CheckTx and FinalizeBlock), by code."}, []string{"code"}),
		DeliverTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "idledger", Name: "deliver_seconds", Help: "Time to run one transaction in FinalizeBlock.",
			Buckets: prometheus.ExponentialBuckets(5e-6, 2, 14)}),
		CheckTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "idledger", Name: "check_seconds", Help: "Time to verify and check one transaction in CheckTx.",
			Buckets: prometheus.ExponentialBuckets(5e-6, 2, 16)}),
		TxCacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "idledger", Name: "tx_cache_hits_total", Help: "Transactions whose CheckTx verification was reused."}),
		Height: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "idledger", Name: "height", Help: "Height of the last finalized block."}),
		StateKeys: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "idledger", Name: "state_keys", Help: "Keys in the committed state tree."}),
		UpgradeHeight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "idledger", Name: "upgrade_height", Help: "Height of the scheduled software upgrade (0: none)."}),
	}
	// Export every kind from the start, so that dashboards see zeros.
	m.Revocations.WithLabelValues("attestation")
	m.Revocations.WithLabelValues("subject")
	return m
}

// NopMetrics are metrics registered nowhere.
func NopMetrics() *Metrics { return newMetrics() }

// NewMetrics makes the app's metrics and registers them with reg, with a
// gauge of the verifier feed's peers (see SetFeedPeers).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := newMetrics()
	for _, c := range []prometheus.Collector{m.Attestations, m.Revocations, m.Refusals, m.DeliverTime, m.CheckTime,
		m.TxCacheHits, m.Height, m.StateKeys, m.UpgradeHeight} {
		_ = reg.Register(c) // a second app in one process keeps the first's
	}
	_ = reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "idledger", Name: "feed_peers", Help: "Peers of the node's verifier feed host (0 when the feed is off)."},
		func() float64 {
			m.feedMu.Lock()
			defer m.feedMu.Unlock()
			if m.feedPeers == nil {
				return 0
			}
			return float64(m.feedPeers())
		}))
	return m
}

// SetFeedPeers tells the metrics how to count the verifier feed's peers.
func (m *Metrics) SetFeedPeers(f func() int) {
	m.feedMu.Lock()
	defer m.feedMu.Unlock()
	m.feedPeers = f
}

// RegisterCacheMetrics exposes the certificate cache's hits and misses and
// the size of the state database on disk.
func (a *App) RegisterCacheMetrics(reg prometheus.Registerer) {
	_ = reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "idledger", Name: "cert_cache_hits_total", Help: "Certificate checks answered from the cache."},
		func() float64 { h, _ := a.machine.CacheStats(); return float64(h) }))
	_ = reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "idledger", Name: "cert_cache_misses_total", Help: "Certificate chains checked in full."},
		func() float64 { _, m := a.machine.CacheStats(); return float64(m) }))
	_ = reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "idledger", Name: "state_bytes", Help: "Size of the state database on disk, bytes."},
		func() float64 { return float64(dirSize(a.opts.DBDir)) }))
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func (m *Metrics) refused(code chain.Code) {
	m.Refusals.WithLabelValues(strconv.FormatUint(uint64(code), 10)).Inc()
}

func (m *Metrics) accepted(r *chain.Result) {
	for _, e := range r.Events {
		switch e.Type {
		case "attest":
			m.Attestations.Inc()
		case "revoke_attestation":
			m.Revocations.WithLabelValues("attestation").Inc()
		case "revoke_subjects":
			for _, at := range e.Attrs {
				if at.Key == "revoked" {
					if n, err := strconv.Atoi(at.Value); err == nil && n > 0 {
						m.Revocations.WithLabelValues("subject").Add(float64(n))
					}
				}
			}
		}
	}
}

func (m *Metrics) timeTx() func() {
	start := time.Now()
	return func() { m.DeliverTime.Observe(time.Since(start).Seconds()) }
}

func (m *Metrics) timeCheck() func() {
	start := time.Now()
	return func() { m.CheckTime.Observe(time.Since(start).Seconds()) }
}

// observeCommit updates the gauges that follow the committed state; the
// app calls it from Commit with its lock held.
func (a *App) observeCommit() {
	if a.committed == nil {
		return
	}
	a.metrics.StateKeys.Set(float64(a.committed.Size()))
	h := int64(0)
	if p := chain.GetUpgradePlan(readStore{a.committed}); p != nil {
		h = p.Height
	}
	a.metrics.UpgradeHeight.Set(float64(h))
}
