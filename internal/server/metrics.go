package server

import (
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/licensehost/licensehost/engine"
)

var allStatuses = []engine.Status{
	engine.StatusCommunity, engine.StatusPending, engine.StatusActive, engine.StatusGrace,
	engine.StatusGraceLimited, engine.StatusExpired, engine.StatusSwitching,
}

// Metrics holds the Prometheus collectors of one host (its own registry, no
// package globals). It implements engine.Observer.
type Metrics struct {
	reg       *prometheus.Registry
	handler   http.Handler
	status    *prometheus.GaugeVec
	remote    *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	quota     *prometheus.CounterVec
	fallbacks prometheus.Counter

	// quotaSeries caches the counter of each (allowed, reason) of
	// licensehost_quota_decisions_total, at most maxReasonSeries of them:
	// a policy module names its own reasons,
	// and one that named a new reason at every decision would otherwise
	// grow the host's memory without end. The cache also spares each
	// decision the vector's label hashing and read lock. A decision past
	// the bound takes quotaSeriesMu: only a policy naming ever new reasons
	// pays for it.
	quotaSeries   atomic.Pointer[map[quotaKey]prometheus.Counter] // copied on each new series
	quotaSeriesMu sync.Mutex                                      // serialises adding a series
}

// maxReasonSeries bounds the (result, reason) series of
// licensehost_quota_decisions_total; decisions with a reason beyond them
// are counted under OtherReason (docs/api.md, operations).
const maxReasonSeries = 100

// OtherReason is the reason label of decisions whose own reason came after
// maxReasonSeries others.
const OtherReason = "_other"

type quotaKey struct {
	allowed bool
	reason  string
}

var _ engine.Observer = (*Metrics)(nil)

// NewMetrics registers the host's collectors plus the Go and process ones.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.status = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "licensehost_license_status", Help: "1 for the current license status, 0 for the others.",
	}, []string{"status"})
	m.remote = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "licensehost_remote_calls_total", Help: "Remote license server calls by kind (activate, heartbeat, switch) and result (ok, rejected, failed).",
	}, []string{"kind", "result"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "licensehost_remote_latency_seconds", Help: "Latency of remote license server calls.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"kind"})
	m.quota = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "licensehost_quota_decisions_total", Help: "Quota decisions by result (allowed, refused) and reason.",
	}, []string{"result", "reason"})
	m.fallbacks = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "licensehost_policy_fallbacks_total", Help: "Quota decisions that fell back to the builtin policy after a policy module failed.",
	})
	m.reg.MustRegister(m.status, m.remote, m.latency, m.quota, m.fallbacks,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, s := range allStatuses {
		m.status.WithLabelValues(string(s))
	}
	for _, k := range []string{"activate", "heartbeat", "switch"} {
		for _, r := range []string{"ok", "rejected", "failed"} {
			m.remote.WithLabelValues(k, r)
		}
	}
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// Registry exposes the registry for extra collectors (policy stats).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) setStatus(cur engine.Status) {
	for _, s := range allStatuses {
		v := 0.0
		if s == cur {
			v = 1
		}
		m.status.WithLabelValues(string(s)).Set(v)
	}
}

// RemoteCall implements engine.Observer.
func (m *Metrics) RemoteCall(kind string, d time.Duration, err error, res engine.RemoteResult) {
	result := "ok"
	switch {
	case err != nil:
		result = "failed"
	case !res.Success:
		result = "rejected"
	}
	m.remote.WithLabelValues(kind, result).Inc()
	m.latency.WithLabelValues(kind).Observe(d.Seconds())
}

// QuotaDecision implements engine.Observer.
func (m *Metrics) QuotaDecision(d engine.QuotaDecision, fallback bool) {
	m.quotaCounter(d.Allowed, d.Reason).Inc()
	if fallback {
		m.fallbacks.Inc()
	}
}

// quotaCounter is the counter of a decision's (result, reason). The series
// seen so far are a map read without a lock (a handful of them, written
// once each), copied whenever a series is added.
func (m *Metrics) quotaCounter(allowed bool, reason string) prometheus.Counter {
	k := quotaKey{allowed, reason}
	if series := m.quotaSeries.Load(); series != nil {
		if c, ok := (*series)[k]; ok {
			return c
		}
	}
	result := "refused"
	if allowed {
		result = "allowed"
	}
	m.quotaSeriesMu.Lock()
	defer m.quotaSeriesMu.Unlock()
	var old map[quotaKey]prometheus.Counter
	if series := m.quotaSeries.Load(); series != nil {
		old = *series
	}
	if c, ok := old[k]; ok {
		return c
	}
	if len(old) >= maxReasonSeries {
		return m.quota.WithLabelValues(result, OtherReason)
	}
	next := maps.Clone(old)
	if next == nil {
		next = map[quotaKey]prometheus.Counter{}
	}
	c := m.quota.WithLabelValues(result, reason)
	next[k] = c
	m.quotaSeries.Store(&next)
	return c
}
