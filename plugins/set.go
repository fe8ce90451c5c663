package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/plugins/goplugin"
	"github.com/licensehost/licensehost/plugins/wasm"
	"github.com/licensehost/licensehost/plugins/wire"
)

// Options configure loading. The zero Options work.
type Options struct {
	// CacheDir is wazero's on-disk compilation cache; "" compiles in memory
	// on every load (slow for Go-built modules: ~0.6 s each).
	CacheDir string
	// SocketDir is where plugin processes get their unix socket
	// directories; "" is the system temporary directory.
	SocketDir string
	// Logger receives load, reload and fallback logs; default slog.Default().
	Logger *slog.Logger
	// OnDecision, if set, is called after every decision, synchronously:
	// keep it fast (e.g. increment Prometheus counters).
	OnDecision func(Event)

	stats *statsTable // shared by the sets of one Registry
}

// Event describes one decision, for Options.OnDecision.
type Event struct {
	LicenseType string
	Module      string        // the routed module's policy name, e.g. "wasm:tiered", or "builtin"
	Fallback    string        // "" when the module decided; else the reason (timeout, trap, crash, …)
	Err         error         // the module's error when it fell back
	Duration    time.Duration // time spent deciding
}

// Set is the policies of one manifest, routed by license type. It implements
// engine.Policy; Decide never returns an error: a failing module's decision
// is the built-in one.
type Set struct {
	dir     string
	exact   map[string]*route
	globs   []*route
	def     *route
	builtin *route // no rule matched
	routes  []*route
	modules map[string]engine.Policy
	log     *slog.Logger
	hook    func(Event)
	stats   *statsTable
}

var _ engine.Policy = (*Set)(nil)

type route struct {
	pattern string
	module  string // manifest name; BuiltinModule for the built-in
	label   string // policy name in decisions: "wasm:tiered", "plugin:x", "builtin"
	spec    Module
	policy  engine.Policy // nil for the built-in
	c       *counters
}

// Load reads dir/policies.json and loads every module it names; any module
// that fails to load (missing file, sha256 mismatch, unknown ABI version,
// missing exports, plugin that does not start) fails the whole Load with an
// error naming it. An empty dir gives a Set with only the built-in policy.
func Load(ctx context.Context, dir string, opts Options) (*Set, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.stats == nil {
		opts.stats = newStatsTable()
	}
	s := &Set{dir: dir, exact: map[string]*route{}, modules: map[string]engine.Policy{},
		log: opts.Logger, hook: opts.OnDecision, stats: opts.stats}
	s.builtin = &route{pattern: "", module: BuiltinModule, label: engine.BuiltinPolicyName, c: s.stats.get(engine.BuiltinPolicyName)}
	if dir == "" {
		return s, nil
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, fmt.Errorf("policy directory %s: %w", dir, err)
	}
	names := make([]string, 0, len(m.Modules))
	for name := range m.Modules {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p, err := loadModule(ctx, dir, name, m.Modules[name], opts)
		if err != nil {
			_ = s.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("policy directory %s: %w", dir, err)
		}
		s.modules[name] = p
	}
	for _, r := range m.LicenseTypes {
		rt := &route{pattern: r.Match, module: r.Module, label: engine.BuiltinPolicyName}
		if r.Module != BuiltinModule {
			rt.spec = m.Modules[r.Module]
			rt.label = label(r.Module, rt.spec.Kind)
			rt.policy = s.modules[r.Module]
		}
		rt.c = s.stats.get(rt.label)
		switch {
		case r.Match == DefaultPattern:
			s.def = rt
		case isGlob(r.Match):
			s.globs = append(s.globs, rt)
		default:
			s.exact[r.Match] = rt
		}
		s.routes = append(s.routes, rt)
	}
	return s, nil
}

func label(module, kind string) string { return kind + ":" + module }

func loadModule(ctx context.Context, dir, name string, mod Module, opts Options) (engine.Policy, error) {
	p := mod.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	var (
		pol engine.Policy
		err error
	)
	switch mod.Kind {
	case KindWasm:
		pol, err = wasm.Load(ctx, p, wasm.Config{
			Name: label(name, mod.Kind), SHA256: mod.SHA256, CacheDir: opts.CacheDir,
			MemoryPages: mod.Bounds.MemoryPages, Timeout: time.Duration(mod.Bounds.Timeout),
			MaxOutput: mod.Bounds.MaxOutput, MaxLog: mod.Bounds.MaxLog, Instances: mod.Bounds.Instances,
			Logger: opts.Logger,
		})
	case KindPlugin:
		pol, err = goplugin.Start(ctx, goplugin.Config{
			Name: label(name, mod.Kind), Path: p, SHA256: mod.SHA256, SocketDir: opts.SocketDir,
			Timeout: time.Duration(mod.Bounds.Timeout), MaxOutput: mod.Bounds.MaxOutput, CPUs: mod.Bounds.CPUs,
			Logger: opts.Logger,
		})
	default:
		err = fmt.Errorf("%w: unknown kind %q", ErrManifest, mod.Kind)
	}
	if err != nil {
		return nil, &ModuleError{Module: name, Path: p, Err: err}
	}
	return pol, nil
}

func (s *Set) route(licenseType string) *route {
	if r, ok := s.exact[licenseType]; ok {
		return r
	}
	for _, r := range s.globs {
		if ok, _ := path.Match(r.pattern, licenseType); ok {
			return r
		}
	}
	if s.def != nil {
		return s.def
	}
	return s.builtin
}

// Decide implements engine.Policy: the routed module decides; on any module
// error the built-in policy does, named "builtin (fallback: REASON)".
func (s *Set) Decide(ctx context.Context, in engine.QuotaInput) (engine.QuotaDecision, error) {
	r := s.route(in.LicenseType)
	start := time.Now()
	if r.policy == nil {
		d := engine.DecideBuiltin(in)
		r.c.decisions.Add(1)
		s.emit(in, r, "", nil, start)
		return d, nil
	}
	d, err := r.policy.Decide(ctx, in)
	if err == nil {
		d.Policy = r.label
		r.c.decisions.Add(1)
		s.emit(in, r, "", nil, start)
		return d, nil
	}
	reason := wire.FallbackReason(err)
	r.c.fallback(reason)
	if r.c.shouldLog(start) {
		s.log.Warn("policy failed; the built-in policy decided", "policy", r.label,
			"license_type", in.LicenseType, "reason", reason, "error", err,
			"fallbacks", r.c.fallbacks(), "note", "repeated failures are logged at most once per second")
	}
	d = engine.DecideBuiltin(in)
	d.Policy = engine.BuiltinPolicyName + " (fallback: " + reason + ")"
	s.emit(in, r, reason, err, start)
	return d, nil
}

func (s *Set) emit(in engine.QuotaInput, r *route, fallback string, err error, start time.Time) {
	if s.hook != nil {
		s.hook(Event{LicenseType: in.LicenseType, Module: r.label, Fallback: fallback, Err: err, Duration: time.Since(start)})
	}
}

// Close implements engine.Policy: it closes every module (plugins are
// killed and waited for).
func (s *Set) Close(ctx context.Context) error {
	var errs []error
	for name, p := range s.modules {
		if err := p.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("policy module %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Active describes one routing rule in force, for status pages.
type Active struct {
	Match  string `json:"match"`            // license type name, glob, or "default"
	Policy string `json:"policy"`           // e.g. "wasm:tiered", "plugin:grace", "builtin"
	Kind   string `json:"kind,omitempty"`   // "wasm", "plugin", or "" for the built-in
	Path   string `json:"path,omitempty"`   // as in the manifest
	SHA256 string `json:"sha256,omitempty"` // of the loaded module
	Bounds Bounds `json:"limits,omitzero"`
}

// Active lists the rules in manifest order, ending with the implicit
// built-in default when the manifest has no "default" rule.
func (s *Set) Active() []Active {
	out := make([]Active, 0, len(s.routes)+1)
	for _, r := range s.routes {
		out = append(out, Active{Match: r.pattern, Policy: r.label, Kind: r.spec.Kind, Path: r.spec.Path, SHA256: r.spec.SHA256, Bounds: r.spec.Bounds})
	}
	if s.def == nil {
		out = append(out, Active{Match: DefaultPattern, Policy: engine.BuiltinPolicyName})
	}
	return out
}

// Stats returns the decision counters of every policy name seen.
func (s *Set) Stats() []PolicyStats { return s.stats.snapshot() }

// PolicyStats counts the decisions routed to one policy.
type PolicyStats struct {
	Policy    string            `json:"policy"`    // e.g. "wasm:tiered", "builtin"
	Decisions uint64            `json:"decisions"` // answered by the policy itself
	Fallbacks map[string]uint64 `json:"fallbacks"` // answered by the built-in policy instead, by reason
}

var fallbackReasons = []string{"timeout", "trap", "crash", "bad_output", "unavailable", "canceled", "error"}

type counters struct {
	decisions atomic.Uint64
	fb        [7]atomic.Uint64 // indexed like fallbackReasons
	lastLog   atomic.Int64     // unix nanos of the last fallback log
}

func (c *counters) fallback(reason string) {
	for i, r := range fallbackReasons {
		if r == reason {
			c.fb[i].Add(1)
			return
		}
	}
	c.fb[len(fallbackReasons)-1].Add(1)
}

func (c *counters) fallbacks() uint64 {
	var n uint64
	for i := range c.fb {
		n += c.fb[i].Load()
	}
	return n
}

// shouldLog rate-limits fallback logs to one per second per policy.
func (c *counters) shouldLog(now time.Time) bool {
	last := c.lastLog.Load()
	if now.UnixNano()-last < int64(time.Second) {
		return false
	}
	return c.lastLog.CompareAndSwap(last, now.UnixNano())
}

type statsTable struct {
	mu sync.Mutex
	m  map[string]*counters
}

func newStatsTable() *statsTable { return &statsTable{m: map[string]*counters{}} }

func (t *statsTable) get(label string) *counters {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.m[label]
	if !ok {
		c = &counters{}
		t.m[label] = c
	}
	return c
}

func (t *statsTable) snapshot() []PolicyStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]PolicyStats, 0, len(t.m))
	for label, c := range t.m {
		ps := PolicyStats{Policy: label, Decisions: c.decisions.Load(), Fallbacks: map[string]uint64{}}
		for i, r := range fallbackReasons {
			if n := c.fb[i].Load(); n > 0 {
				ps.Fallbacks[r] = n
			}
		}
		out = append(out, ps)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Policy < out[j].Policy })
	return out
}
