package main

import (
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
)

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFeatureCheckVsQuotaCheck: POST /api/features/check against POST
// /api/quota/check in the same run, on the same kind of host (real Badger,
// loopback, a product file of 64 features with pre-authorization), 16
// concurrent clients. docs/benchmarks.md records the req/s ratio (target ≥ 0.9).
func BenchmarkFeatureCheckVsQuotaCheck(b *testing.B) {
	p := engine.Product{Name: "bench", Preauth: 180 * 24 * time.Hour, LicenseTypes: map[string][]string{"年度版": {"*"}}}
	for i := range 64 {
		name := fmt.Sprintf("feature.%02d", i)
		p.Features = append(p.Features, engine.Feature{Name: name, Title: strings.ToUpper(name)})
		if i%2 == 0 {
			p.PreauthFeatures = append(p.PreauthFeatures, name)
		}
	}
	for _, tc := range []struct{ name, path string }{
		{"quota-check", api.PathQuotaCheck},
		{"features-check", api.PathFeatureCheck},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ts := benchHostWith(b, p)
			c := newBenchClient()
			var n atomic.Int64
			b.SetParallelism(8) // 2 cores × 8 = 16 clients
			cpu0 := cpuTime(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					body := fmt.Sprintf(`{"batch":1,"resource":"r%d"}`, i%1000)
					if tc.path == api.PathFeatureCheck {
						body = fmt.Sprintf(`{"feature":"feature.%02d"}`, (i%32)*2) // pre-authorized: 200
					}
					if code := post(b, c, ts.URL+tc.path, body); code != 200 {
						b.Errorf("status %d", code)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			// CPU time (client and server, this process) per request: on a
			// shared, loaded machine req/s swings with the neighbours, CPU
			// per request much less.
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/req")
		})
	}
}
