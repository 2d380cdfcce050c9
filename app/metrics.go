package app

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idledger/idledger/chain"
)

// Metrics are the app's own Prometheus metrics, served on CometBFT's
// Prometheus endpoint beside its own (namespace "idledger").
type Metrics struct {
	Attestations prometheus.Counter
	Refusals     *prometheus.CounterVec
	DeliverTime  prometheus.Histogram
	TxCacheHits  prometheus.Counter
	Height       prometheus.Gauge
}

func newMetrics() *Metrics {
	return &Metrics{
		Attestations: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "idledger", Name: "attestations_total", Help: "Attestations committed."}),
		Refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "idledger", Name: "refusals_total", Help: "Transactions refused (CheckTx and FinalizeBlock), by code."}, []string{"code"}),
		DeliverTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "idledger", Name: "deliver_seconds", Help: "Time to run one transaction in FinalizeBlock.",
			Buckets: prometheus.ExponentialBuckets(5e-6, 2, 14)}),
		TxCacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "idledger", Name: "tx_cache_hits_total", Help: "Transactions whose CheckTx verification was reused."}),
		Height: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "idledger", Name: "height", Help: "Height of the last finalized block."}),
	}
}

// NopMetrics are metrics registered nowhere.
func NopMetrics() *Metrics { return newMetrics() }

// NewMetrics makes the app's metrics and registers them with reg, together
// with a gauge pair for the certificate cache of m (nil: none).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := newMetrics()
	for _, c := range []prometheus.Collector{m.Attestations, m.Refusals, m.DeliverTime, m.TxCacheHits, m.Height} {
		_ = reg.Register(c) // a second app in one process keeps the first's
	}
	return m
}

// RegisterCacheMetrics exposes the certificate cache's hits and misses.
func (a *App) RegisterCacheMetrics(reg prometheus.Registerer) {
	_ = reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "idledger", Name: "cert_cache_hits_total", Help: "Certificate checks answered from the cache."},
		func() float64 { h, _ := a.machine.CacheStats(); return float64(h) }))
	_ = reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "idledger", Name: "cert_cache_misses_total", Help: "Certificate chains checked in full."},
		func() float64 { _, m := a.machine.CacheStats(); return float64(m) }))
}

func (m *Metrics) refused(code chain.Code) {
	m.Refusals.WithLabelValues(strconv.FormatUint(uint64(code), 10)).Inc()
}

func (m *Metrics) accepted(r *chain.Result) {
	for _, e := range r.Events {
		if e.Type == "attest" {
			m.Attestations.Inc()
		}
	}
}

func (m *Metrics) timeTx() func() {
	start := time.Now()
	return func() { m.DeliverTime.Observe(time.Since(start).Seconds()) }
}
