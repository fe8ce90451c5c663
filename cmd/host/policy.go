package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/internal/server"
	"github.com/licensehost/licensehost/plugins"
)

// policyHost owns the quota policy of the daemon: the builtin one, or the
// modules of --policy-dir behind a reloadable plugins.Registry.
type policyHost struct {
	reg *plugins.Registry // nil: builtin only
}

func newPolicyHost(dir, dataDir string, log *slog.Logger, m *server.Metrics) (*policyHost, error) {
	if dir == "" {
		return &policyHost{}, nil
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, cli.Usagef("--policy-dir=%q: not a readable directory", dir)
	}
	cache := filepath.Join(dataDir, "wasm-cache")
	sockets := filepath.Join(dataDir, "plugin-sockets")
	for _, d := range []string{cache, sockets} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "licensehost_policy_decisions_total",
		Help: "Quota decisions by policy module and outcome (ok, or the fallback reason: timeout, trap, crash, bad_output, …).",
	}, []string{"policy", "outcome"})
	m.Registry().MustRegister(decisions)
	// Modules come from the manifest and outcomes from a fixed list, so the
	// bound is never reached in practice; the series are kept to spare each
	// decision the vector's lookup (server.CounterSeries).
	type decisionKey struct{ module, outcome string }
	series := server.NewCounterSeries(decisions, 1000, func(k decisionKey, past bool) []string {
		if past {
			return []string{server.OtherReason, server.OtherReason}
		}
		return []string{k.module, k.outcome}
	})
	reg, err := plugins.NewRegistry(context.Background(), dir, plugins.Options{
		CacheDir: cache, SocketDir: sockets, Logger: log,
		OnDecision: func(ev plugins.Event) {
			outcome := "ok"
			if ev.Fallback != "" {
				outcome = ev.Fallback
			}
			series.Counter(decisionKey{ev.Module, outcome}).Inc()
		},
	})
	if err != nil {
		return nil, cli.Usagef("--policy-dir=%q: %v", dir, err)
	}
	return &policyHost{reg: reg}, nil
}

func (p *policyHost) policy() engine.Policy {
	if p.reg == nil {
		return engine.Builtin{}
	}
	return p.reg
}

func (p *policyHost) info() server.PolicyInfo {
	if p.reg == nil {
		return nil
	}
	return registryInfo{p.reg}
}

// registryInfo adds the routing rules and counters to the registry for
// GET /api/policy (the web page's policy card).
type registryInfo struct{ *plugins.Registry }

func (r registryInfo) PolicyRoutes() ([]api.PolicyRoute, []api.PolicyStats) {
	var routes []api.PolicyRoute
	for _, a := range r.Active() {
		routes = append(routes, api.PolicyRoute{Match: a.Match, Policy: a.Policy, Kind: a.Kind, Path: a.Path, SHA256: a.SHA256})
	}
	var stats []api.PolicyStats
	for _, st := range r.Stats() {
		stats = append(stats, api.PolicyStats{Policy: st.Policy, Decisions: st.Decisions, Fallbacks: st.Fallbacks})
	}
	return routes, stats
}

func (p *policyHost) describe() string {
	if p.reg == nil {
		return engine.BuiltinPolicyName
	}
	var parts []string
	for _, a := range p.reg.Active() {
		parts = append(parts, a.Match+"→"+a.Policy)
	}
	return strings.Join(parts, ", ")
}

func (p *policyHost) close(ctx context.Context) error {
	if p.reg == nil {
		return nil
	}
	return p.reg.Close(ctx)
}
