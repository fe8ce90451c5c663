package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/plugins"
)

// BenchmarkQuotaCheckPolicies: POST /api/quota/check through the real
// handler (engine over Badger, the API server on loopback, 16 keep-alive
// clients) with each kind of policy deciding: the built-in policy, the
// Go-built wasm policy (sdk/examples/builtin), the WAT one
// (sdk/examples/wat) and the go-plugin binary of sdk/examples/builtin. The
// backends take turns in blocks of 1000 requests, so they share the
// machine's conditions; it reports each one's req/s and its ratio to the
// built-in's, the process CPU time per request and the ratio by it (the
// req/s ratio on an otherwise idle CPU-bound machine, robust to other
// load), then each policy's own time per decision (sequential, through
// plugins.Set) beside the built-in's. docs/benchmarks-policy.md.
func BenchmarkQuotaCheckPolicies(b *testing.B) {
	ctx := context.Background()
	testdata := filepath.Join("..", "..", "plugins", "wasm", "testdata")
	dir := b.TempDir()
	pluginBin := filepath.Join(dir, "builtin-plugin")
	build := exec.Command("go", "build", "-trimpath", "-o", pluginBin, "github.com/licensehost/licensehost/sdk/examples/builtin")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building the plugin: %v\n%s", err, out)
	}
	type backend struct {
		name string
		pol  engine.Policy // nil: the engine's built-in
		url  string
		took time.Duration
		cpu  time.Duration // process CPU time (user + system) spent in its blocks
	}
	set := func(kind, path, limits string) engine.Policy {
		pdir := b.TempDir()
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		name := filepath.Base(path)
		if err := os.WriteFile(filepath.Join(pdir, name), data, 0o700); err != nil {
			b.Fatal(err)
		}
		sum := sha256.Sum256(data)
		manifest := fmt.Sprintf(`{"version":1,"modules":{"m":{"kind":%q,"path":%q,"sha256":%q,"limits":{%s}}},
			"licenseTypes":[{"match":"default","module":"m"}]}`, kind, name, hex.EncodeToString(sum[:]), limits)
		if err := os.WriteFile(filepath.Join(pdir, plugins.ManifestName), []byte(manifest), 0o600); err != nil {
			b.Fatal(err)
		}
		s, err := plugins.Load(ctx, pdir, plugins.Options{CacheDir: filepath.Join(dir, "cache")})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close(ctx) })
		return s
	}
	bs := []*backend{
		{name: "builtin"},
		{name: "wasm-go", pol: set(plugins.KindWasm, filepath.Join(testdata, "builtin.wasm"), "")},
		{name: "wasm-wat", pol: set(plugins.KindWasm, filepath.Join(testdata, "wat.wasm"), "")},
		{name: "goplugin", pol: set(plugins.KindPlugin, pluginBin, "")}, // one core (limits.cpus 1, the default)
		{name: "goplugin-allcpus", pol: set(plugins.KindPlugin, pluginBin, fmt.Sprintf(`"cpus":%d`, runtime.NumCPU()))},
	}
	for _, be := range bs {
		be.url = benchHostPolicy(b, be.pol).URL + api.PathQuotaCheck
	}
	c := newBenchClient()
	run := func(be *backend, n int) {
		var next atomic.Int64
		var wg sync.WaitGroup
		start, cpu0 := time.Now(), processCPU()
		for range 16 {
			wg.Go(func() {
				for next.Add(1) <= int64(n) {
					if code := post(b, c, be.url, `{"batch":5,"used":10}`); code != 200 {
						b.Errorf("%s: status %d", be.name, code)
						return
					}
				}
			})
		}
		wg.Wait()
		be.took += time.Since(start)
		be.cpu += processCPU() - cpu0
	}
	for _, be := range bs { // warm up: connections, instances, plugin
		run(be, 200)
		be.took, be.cpu = 0, 0
	}
	const block = 1000
	b.ResetTimer()
	for done := 0; done < b.N; done += block {
		for _, be := range bs {
			run(be, min(block, b.N-done))
		}
	}
	b.StopTimer()
	base := float64(b.N) / bs[0].took.Seconds()
	for _, be := range bs {
		rps := float64(b.N) / be.took.Seconds()
		b.ReportMetric(rps, be.name+"-req/s")
		b.ReportMetric(float64(be.cpu.Microseconds())/float64(b.N), be.name+"-cpu-µs/req")
		if be != bs[0] {
			b.ReportMetric(rps/base, be.name+"/builtin")
			// CPU per request (client and server, one process) bounds
			// throughput on a CPU-bound machine, and unlike req/s it does
			// not move with the machine's other load.
			b.ReportMetric(float64(bs[0].cpu)/float64(be.cpu), be.name+"/builtin-by-cpu")
		}
	}
	// Each policy's own time per decision, sequential, beside the built-in.
	in := engine.QuotaInput{Status: engine.StatusCommunity, Limits: engine.Limits{Total: engine.Int64(200), Batch: engine.Int64(20)}, Used: 10, Batch: 5, Now: time.Now()}
	for _, be := range bs {
		pol := be.pol
		if pol == nil {
			pol = engine.Builtin{}
		}
		const n = 2000
		start := time.Now()
		for range n {
			if _, err := pol.Decide(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(time.Since(start).Nanoseconds())/n, be.name+"-decide-ns")
	}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchHostPolicy is benchHost with a policy (nil: the built-in).
func benchHostPolicy(b *testing.B, pol engine.Policy) *httptest.Server {
	b.Helper()
	return benchHostOptions(b, engine.Options{Policy: pol})
}
