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

	// quota's series, by (allowed, reason): a policy module names its own
	// reasons, and one that named a new reason at every decision would
	// otherwise grow the host's memory without end.
	quotaSeries *CounterSeries[quotaKey]
}

// maxReasonSeries bounds the (result, reason) series of
// licensehost_quota_decisions_total; decisions with a reason beyond them
// are counted under OtherReason (docs/api.md, operations).
const maxReasonSeries = 100

// OtherReason is the label value of the decisions counted past a
// CounterSeries' bound.
const OtherReason = "_other"

// CounterSeries hands out the counters of a CounterVec by a key, at most
// max distinct series: past them, a new key's count goes to the series
// labels(k, true) names (OtherReason in place of what a module chose). The series seen so far are a map
// read without a lock (every quota check or policy decision reads it; the
// vector's own lookup hashes the labels under a read lock whose counter
// moves between the cores), copied whenever a series is added.
type CounterSeries[K comparable] struct {
	vec    *prometheus.CounterVec
	max    int
	labels func(k K, past bool) []string
	seen   atomic.Pointer[map[K]prometheus.Counter]
	mu     sync.Mutex // serialises adding a series
}

// NewCounterSeries returns the series of vec; labels gives a key's label
// values, or with past its values once max series exist.
func NewCounterSeries[K comparable](vec *prometheus.CounterVec, max int, labels func(k K, past bool) []string) *CounterSeries[K] {
	return &CounterSeries[K]{vec: vec, max: max, labels: labels}
}

// Counter is the counter of k's series.
func (c *CounterSeries[K]) Counter(k K) prometheus.Counter {
	if seen := c.seen.Load(); seen != nil {
		if counter, ok := (*seen)[k]; ok {
			return counter
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[K]prometheus.Counter
	if seen := c.seen.Load(); seen != nil {
		old = *seen
	}
	if counter, ok := old[k]; ok {
		return counter
	}
	if len(old) >= c.max {
		return c.vec.WithLabelValues(c.labels(k, true)...)
	}
	next := maps.Clone(old)
	if next == nil {
		next = map[K]prometheus.Counter{}
	}
	counter := c.vec.WithLabelValues(c.labels(k, false)...)
	next[k] = counter
	c.seen.Store(&next)
	return counter
}

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
	m.quotaSeries = NewCounterSeries(m.quota, maxReasonSeries, func(k quotaKey, past bool) []string {
		result, reason := "refused", k.reason
		if k.allowed {
			result = "allowed"
		}
		if past {
			reason = OtherReason
		}
		return []string{result, reason}
	})
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
	m.quotaSeries.Counter(quotaKey{d.Allowed, d.Reason}).Inc()
	if fallback {
		m.fallbacks.Inc()
	}
}
