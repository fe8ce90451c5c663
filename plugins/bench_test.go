package plugins_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/plugins/goplugin"
	"github.com/licensehost/licensehost/plugins/wasm"
	"github.com/licensehost/licensehost/plugins/wire"
)

type backend struct {
	name string
	call func(context.Context) error
}

// backends starts every implementation of the built-in rules: native, the
// Go-built and the WAT wasm modules (each under its deadline), the go-plugin
// binary, and a bare go-plugin echo of the same input bytes.
func backends(b *testing.B) []backend {
	ctx := context.Background()
	in := sample
	in.LicenseType, in.Batch = "年度版", 3
	wasmPolicy := func(file string) engine.Policy {
		path := filepath.Join("wasm", "testdata", file)
		mod, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		p, err := wasm.New(ctx, mod, wasm.Config{SHA256: hash(b, path), CacheDir: cacheDir})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Close(ctx) })
		return p
	}
	plug, err := goplugin.Start(ctx, goplugin.Config{Path: filepath.Join(binDir, "builtin-plugin"), SHA256: hash(b, filepath.Join(binDir, "builtin-plugin"))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { plug.Close(ctx) })
	decide := func(p engine.Policy) func(context.Context) error {
		return func(ctx context.Context) error { _, err := p.Decide(ctx, in); return err }
	}
	encoded := wire.AppendInput(nil, &in)
	return []backend{
		{"native", decide(engine.Builtin{})},
		{"wasm-go", decide(wasmPolicy("builtin.wasm"))},
		{"wasm-wat", decide(wasmPolicy("wat.wasm"))},
		{"goplugin", decide(plug)},
		{"goplugin-echo", func(ctx context.Context) error { _, err := plug.Echo(ctx, encoded); return err }},
	}
}

// BenchmarkPolicyLatency runs b.N decisions per backend, in blocks of 500
// that cycle through the backends (so they share the machine's conditions
// without evicting each other's caches on every call), and reports each one's p50 and p99 in ns (the cost of reading the clock
// subtracted), their p50 as a multiple of native's mean (native is timed in
// blocks: a single call is near the clock's resolution), and go-plugin's p50
// over a bare echo call's.
func BenchmarkPolicyLatency(b *testing.B) {
	bs := backends(b)
	ctx := context.Background()
	lat := make([][]time.Duration, len(bs))
	var clock []time.Duration
	var nativeBlock time.Duration
	for _, be := range bs { // warm up
		for range 100 {
			if err := be.call(ctx); err != nil {
				b.Fatalf("%s: %v", be.name, err)
			}
		}
	}
	const block = 500
	b.ResetTimer()
	for done := 0; done < b.N; done += block {
		n := min(block, b.N-done)
		for i, be := range bs {
			for range n {
				start := time.Now()
				err := be.call(ctx)
				lat[i] = append(lat[i], time.Since(start))
				if err != nil {
					b.Fatalf("%s: %v", be.name, err)
				}
			}
		}
		for range n {
			start := time.Now()
			clock = append(clock, time.Since(start))
		}
		start := time.Now() // native timed as a block: its mean, free of clock cost
		for range n {
			_ = bs[0].call(ctx)
		}
		nativeBlock += time.Since(start)
	}
	overhead := pct(clock, 50)
	p50 := make([]float64, len(bs))
	for i, be := range bs {
		p50[i] = max(pct(lat[i], 50)-overhead, 1)
		b.ReportMetric(p50[i], be.name+"-p50-ns")
		b.ReportMetric(max(pct(lat[i], 99)-overhead, 1), be.name+"-p99-ns")
	}
	nativeMean := float64(nativeBlock) / float64(b.N)
	b.ReportMetric(nativeMean, "native-mean-ns")
	for i, be := range bs[1:] {
		b.ReportMetric(p50[i+1]/nativeMean, be.name+"/native")
	}
	b.ReportMetric(p50[len(bs)-2]/p50[len(bs)-1], "goplugin/echo")
	b.ReportMetric(overhead, "clock-ns")
}

func pct(d []time.Duration, p int) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[(len(s)-1)*p/100])
}

// BenchmarkPolicyParallel measures throughput with GOMAXPROCS goroutines
// deciding at once (ns/op is wall time per decision across all of them).
func BenchmarkPolicyParallel(b *testing.B) {
	for _, be := range backends(b) {
		b.Run(be.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if err := be.call(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
		})
	}
}
