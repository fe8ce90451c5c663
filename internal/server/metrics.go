package server

import (
	"net/http"
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
	result := "refused"
	if d.Allowed {
		result = "allowed"
	}
	m.quota.WithLabelValues(result, d.Reason).Inc()
	if fallback {
		m.fallbacks.Inc()
	}
}
