package plugins_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/internal/e2etest"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/plugins"
	"github.com/licensehost/licensehost/plugins/policytest"
	"github.com/licensehost/licensehost/plugins/wasm"
)

var (
	binDir   string // plugin binaries built by TestMain
	cacheDir string // wazero compilation cache shared by the tests
)

func TestMain(m *testing.M) {
	wasm.ServeCompile()
	code := func() int {
		dir, err := os.MkdirTemp("", "plugins")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(dir)
		binDir, cacheDir = filepath.Join(dir, "bin"), filepath.Join(dir, "cache")
		for name, pkg := range map[string]string{
			"builtin-plugin": "github.com/licensehost/licensehost/sdk/examples/builtin",
			"hostile-plugin": "./goplugin/testdata/hostile",
		} {
			if _, err := e2etest.Build(binDir, name, pkg, "-trimpath"); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

func hash(t testing.TB, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// policyDir writes a policy directory with the given modules (file name →
// limits) and rules, copying the files from the fixtures.
func policyDir(t testing.TB, mods map[string]plugins.Module, rules []plugins.Rule) string {
	t.Helper()
	dir := t.TempDir()
	for name, m := range mods {
		src := filepath.Join("wasm", "testdata", m.Path)
		if m.Kind == plugins.KindPlugin {
			src = filepath.Join(binDir, m.Path)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, m.Path), b, 0o755); err != nil {
			t.Fatal(err)
		}
		if m.SHA256 == "" {
			m.SHA256 = hash(t, src)
		}
		mods[name] = m
	}
	writeManifest(t, dir, mods, rules)
	return dir
}

func writeManifest(t testing.TB, dir string, mods map[string]plugins.Module, rules []plugins.Rule) {
	b, err := json.MarshalIndent(plugins.Manifest{Version: 1, Modules: mods, LicenseTypes: rules}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, plugins.ManifestName), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func standardDir(t testing.TB) string {
	return policyDir(t, map[string]plugins.Module{
		"tiered":  {Kind: plugins.KindWasm, Path: "tiered.wasm"},
		"trap":    {Kind: plugins.KindWasm, Path: "trap.wasm"},
		"loop":    {Kind: plugins.KindWasm, Path: "loop.wasm", Bounds: plugins.Bounds{Timeout: plugins.Duration(20 * time.Millisecond)}},
		"hostile": {Kind: plugins.KindPlugin, Path: "hostile-plugin"},
	}, []plugins.Rule{
		{Match: "终生赞助版", Module: "tiered"},
		{Match: "年度*", Module: "tiered"},
		{Match: "broken", Module: "trap"},
		{Match: "slow", Module: "loop"},
		{Match: "plugin*", Module: "hostile"},
		{Match: "default", Module: "builtin"},
	})
}

var sample = engine.QuotaInput{
	Status: engine.StatusActive, IsSponsored: true,
	Limits: engine.Limits{Total: engine.Int64(1000), Batch: engine.Int64(10)},
	Used:   5, Batch: 30,
}

func decide(t testing.TB, p engine.Policy, licenseType, resource string) engine.QuotaDecision {
	t.Helper()
	in := sample
	in.LicenseType, in.Resource = licenseType, resource
	d, err := p.Decide(context.Background(), in)
	if err != nil {
		t.Fatalf("Decide(%s): %v", licenseType, err)
	}
	return d
}

func TestRoutingAndFallback(t *testing.T) {
	var logs enginetest.SyncBuffer
	var events sync.Map
	s, err := plugins.Load(context.Background(), standardDir(t), plugins.Options{
		CacheDir: cacheDir, SocketDir: t.TempDir(),
		Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
		OnDecision: func(e plugins.Event) { events.Store(e.LicenseType, e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())

	builtinRefusal := engine.DecideBuiltin(sample) // batch 30 > 10
	for _, c := range []struct {
		licenseType, resource string
		policy                string
		allowed               bool
	}{
		{"终生赞助版", "", "wasm:tiered", true}, // exact: unlimited batch
		{"年度版", "", "wasm:tiered", false},  // glob: batch min(10, 50) < 30
		{"trial", "", "builtin", false},    // default rule
		{"broken", "", "builtin (fallback: trap)", false},
		{"slow", "", "builtin (fallback: timeout)", false},
		{"plugin-ok", "", "plugin:hostile", false},
		{"plugin-crash", "crash", "builtin (fallback: crash)", false},
		{"plugin-after-crash", "", "", false}, // restarted later or unavailable: either way answered
	} {
		d := decide(t, s, c.licenseType, c.resource)
		if c.policy != "" && d.Policy != c.policy {
			t.Errorf("%s: policy %q, want %q", c.licenseType, d.Policy, c.policy)
		}
		if d.Allowed != c.allowed {
			t.Errorf("%s: %s", c.licenseType, policytest.Format(d))
		}
		if strings.HasPrefix(d.Policy, "builtin") && policytest.Diff(d, builtinRefusal) != "" {
			t.Errorf("%s: fallback is not the built-in decision: %s", c.licenseType, policytest.Diff(d, builtinRefusal))
		}
	}
	stats := map[string]plugins.PolicyStats{}
	for _, ps := range s.Stats() {
		stats[ps.Policy] = ps
	}
	if stats["wasm:trap"].Fallbacks["trap"] != 1 || stats["wasm:loop"].Fallbacks["timeout"] != 1 ||
		stats["plugin:hostile"].Fallbacks["crash"] != 1 || stats["wasm:tiered"].Decisions != 2 {
		t.Errorf("stats %+v", s.Stats())
	}
	if e, ok := events.Load("slow"); !ok || e.(plugins.Event).Fallback != "timeout" || e.(plugins.Event).Module != "wasm:loop" {
		t.Errorf("hook event for slow: %+v", e)
	}
	for _, want := range []string{"policy=wasm:trap", "reason=trap", "unreachable", "policy=wasm:loop", "reason=timeout", "reason=crash"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	active := s.Active()
	if len(active) != 6 || active[0].Match != "终生赞助版" || active[0].Policy != "wasm:tiered" || active[5].Policy != "builtin" {
		t.Errorf("Active() = %+v", active)
	}
}

func TestConformanceThroughSet(t *testing.T) {
	dir := policyDir(t, map[string]plugins.Module{
		"b": {Kind: plugins.KindWasm, Path: "builtin.wasm"},
		"p": {Kind: plugins.KindPlugin, Path: "builtin-plugin"},
	}, []plugins.Rule{{Match: "年度版", Module: "b"}, {Match: "default", Module: "p"}})
	s, err := plugins.Load(context.Background(), dir, plugins.Options{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	policytest.Run(t, s) // mostly "年度版" → wasm; one case → plugin
	if d := decide(t, s, "其他", ""); d.Policy != "plugin:p" {
		t.Errorf("policy %q", d.Policy)
	}
}

func TestLoadRefusesBadModules(t *testing.T) {
	for name, c := range map[string]struct {
		mod  plugins.Module
		want error
	}{
		"hash mismatch": {plugins.Module{Kind: plugins.KindWasm, Path: "builtin.wasm", SHA256: strings.Repeat("0", 64)}, wasm.ErrHashMismatch},
		"wrong ABI":     {plugins.Module{Kind: plugins.KindWasm, Path: "abi2.wasm"}, wasm.ErrABIVersion},
		"no exports":    {plugins.Module{Kind: plugins.KindWasm, Path: "noexports.wasm"}, wasm.ErrExports},
	} {
		dir := policyDir(t, map[string]plugins.Module{"m": c.mod}, []plugins.Rule{{Match: "default", Module: "m"}})
		_, err := plugins.Load(context.Background(), dir, plugins.Options{CacheDir: cacheDir})
		var me *plugins.ModuleError
		if !errors.Is(err, c.want) || !errors.As(err, &me) || me.Module != "m" {
			t.Errorf("%s: error %v, want %v naming module m", name, err, c.want)
		}
	}
}

func TestManifestValidation(t *testing.T) {
	good := `"modules":{"m":{"kind":"wasm","path":"x.wasm","sha256":"` + strings.Repeat("a", 64) + `"}}`
	for name, body := range map[string]string{
		"version":        `{"version":2}`,
		"unknown field":  `{"version":1,"modulez":{}}`,
		"kind":           `{"version":1,"modules":{"m":{"kind":"lua","path":"x","sha256":"` + strings.Repeat("a", 64) + `"}}}`,
		"short sha":      `{"version":1,"modules":{"m":{"kind":"wasm","path":"x","sha256":"abc"}}}`,
		"reserved name":  `{"version":1,"modules":{"builtin":{"kind":"wasm","path":"x","sha256":"` + strings.Repeat("a", 64) + `"}}}`,
		"unknown module": `{"version":1,` + good + `,"licenseTypes":[{"match":"a","module":"n"}]}`,
		"bad glob":       `{"version":1,` + good + `,"licenseTypes":[{"match":"[","module":"m"}]}`,
		"duplicate":      `{"version":1,` + good + `,"licenseTypes":[{"match":"a","module":"m"},{"match":"a","module":"builtin"}]}`,
		"bad timeout":    `{"version":1,"modules":{"m":{"kind":"wasm","path":"x","sha256":"` + strings.Repeat("a", 64) + `","limits":{"timeout":"-1s"}}}}`,
		"plugin pages":   `{"version":1,"modules":{"m":{"kind":"plugin","path":"x","sha256":"` + strings.Repeat("a", 64) + `","limits":{"memoryPages":10}}}}`,
		"wasm cpus":      `{"version":1,"modules":{"m":{"kind":"wasm","path":"x","sha256":"` + strings.Repeat("a", 64) + `","limits":{"cpus":2}}}}`,
		"negative cpus":  `{"version":1,"modules":{"m":{"kind":"plugin","path":"x","sha256":"` + strings.Repeat("a", 64) + `","limits":{"cpus":-1}}}}`,
		"too many cpus":  `{"version":1,"modules":{"m":{"kind":"plugin","path":"x","sha256":"` + strings.Repeat("a", 64) + `","limits":{"cpus":1025}}}}`,
	} {
		if _, err := plugins.ParseManifest([]byte(body)); !errors.Is(err, plugins.ErrManifest) {
			t.Errorf("%s: error %v, want ErrManifest", name, err)
		}
	}
	if _, err := plugins.ParseManifest([]byte(`{"version":1,` + good + `,"licenseTypes":[{"match":"年度*","module":"m"}]}`)); err != nil {
		t.Errorf("good manifest: %v", err)
	}
	m, err := plugins.ParseManifest([]byte(`{"version":1,"modules":{"m":{"kind":"plugin","path":"x","sha256":"` + strings.Repeat("a", 64) + `","limits":{"cpus":4}}}}`))
	if err != nil || m.Modules["m"].Bounds.CPUs != 4 {
		t.Errorf("plugin with cpus 4: %+v %v", m, err)
	}
}

// Reload swaps sets while decisions run; a bad reload is refused and the
// previous set stays in force; no decision errors or is dropped.
func TestRegistryReload(t *testing.T) {
	mods := map[string]plugins.Module{"tiered": {Kind: plugins.KindWasm, Path: "tiered.wasm"}}
	dir := policyDir(t, mods, []plugins.Rule{{Match: "终生赞助版", Module: "tiered"}})
	r, err := plugins.NewRegistry(context.Background(), dir, plugins.Options{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg        sync.WaitGroup
		stop      atomic.Bool
		decisions atomic.Int64
	)
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				in := sample
				in.LicenseType = "终生赞助版"
				if _, err := r.Decide(context.Background(), in); err != nil {
					t.Errorf("Decide during reload: %v", err)
					return
				}
				decisions.Add(1)
			}
		})
	}
	for i := range 3 {
		if err := r.Reload(context.Background()); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
	}
	// A bad module: refused, the previous set stays.
	bad := map[string]plugins.Module{"tiered": {Kind: plugins.KindWasm, Path: "tiered.wasm", SHA256: mods["tiered"].SHA256},
		"trap": {Kind: plugins.KindWasm, Path: "tiered.wasm", SHA256: strings.Repeat("1", 64)}}
	writeManifest(t, dir, bad, []plugins.Rule{{Match: "终生赞助版", Module: "trap"}})
	err = r.Reload(context.Background())
	if !errors.Is(err, wasm.ErrHashMismatch) || !strings.Contains(err.Error(), "previous policies stay in force") {
		t.Errorf("bad reload: %v", err)
	}
	if a := r.Active(); a[0].Policy != "wasm:tiered" {
		t.Errorf("after a refused reload: %+v", a)
	}
	// A good change takes effect.
	writeManifest(t, dir, mods, []plugins.Rule{{Match: "年度版", Module: "tiered"}})
	if err := r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := decide(t, r, "终生赞助版", ""); d.Policy != "builtin" {
		t.Errorf("after reload 终生赞助版 decided by %q", d.Policy)
	}
	stop.Store(true)
	wg.Wait()
	if decisions.Load() == 0 {
		t.Error("no decisions ran during the reloads")
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Decide(context.Background(), sample); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Decide after Close: %v", err)
	}
	if st := r.Stats(); len(st) == 0 {
		t.Error("no stats")
	}
}

func TestEmptyDirIsBuiltin(t *testing.T) {
	r, err := plugins.NewRegistry(context.Background(), "", plugins.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	policytest.Run(t, r)
	if err := r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
}
