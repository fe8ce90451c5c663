package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/internal/remote"
	"github.com/licensehost/licensehost/internal/remotetest"
	"github.com/licensehost/licensehost/internal/server"
	"github.com/licensehost/licensehost/storage"
)

// benchHost is the API handler over real Badger in a temp dir, served on
// loopback in this process, so the comparison with a bare handler measures
// the host's own cost.
func benchHost(b *testing.B) *httptest.Server {
	b.Helper()
	return benchHostWith(b, engine.Product{})
}

// benchHostWith is benchHost with a product (docs/features.md).
func benchHostWith(b *testing.B, p engine.Product) *httptest.Server {
	b.Helper()
	return benchHostOptions(b, engine.Options{Product: p})
}

// benchHostOptions is benchHost with what o sets of the engine's options
// (Product, Policy); the store, remote, clock, config and machine are the
// bench's own.
func benchHostOptions(b *testing.B, o engine.Options) *httptest.Server {
	b.Helper()
	srv := remotetest.New(b)
	rc, err := remote.New(remote.Config{BaseURL: srv.URL()})
	if err != nil {
		b.Fatal(err)
	}
	st, err := storage.Open(filepath.Join(b.TempDir(), "db"), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	o.Store, o.Remote, o.Clock, o.Config, o.MachineID = st, rc, systemClock{}, engine.DefaultConfig(), "server_0123456789abcdef"
	eng, err := engine.New(o)
	if err != nil {
		b.Fatal(err)
	}
	if err := eng.StartFeatures(context.Background()); err != nil { // as the daemon does
		b.Fatal(err)
	}
	h, err := server.New(eng, server.Options{AdminToken: "bench-token", Metrics: server.NewMetrics()})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(h)
	b.Cleanup(ts.Close)
	return ts
}

// bareJSON is the yardstick: a net/http handler that decodes a small JSON
// body and encodes a small JSON answer, nothing else.
func bareJSON() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Batch int64 }
		_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"allowed": in.Batch <= 20, "reason": "ok", "used": 0})
	}))
}

func newBenchClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr}
}

func post(b *testing.B, c *http.Client, url, body string) int {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer bench-token")
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// BenchmarkQuotaCheckVsBare: /api/quota/check against a bare JSON handler,
// both on loopback, 16 concurrent clients. Compare ns/op as a ratio.
func BenchmarkQuotaCheckVsBare(b *testing.B) {
	for _, tc := range []struct {
		name string
		srv  func(b *testing.B) *httptest.Server
	}{
		{"bare", func(b *testing.B) *httptest.Server { s := bareJSON(); b.Cleanup(s.Close); return s }},
		{"host", benchHost},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ts := tc.srv(b)
			c := newBenchClient()
			b.SetParallelism(8) // 2 cores × 8 = 16 clients
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if code := post(b, c, ts.URL+api.PathQuotaCheck, `{"batch":5,"used":10}`); code != 200 {
						b.Errorf("status %d", code)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkConsumeVsCheck: durable consume (fsync per commit, batched by
// Badger) against check, with 16 concurrent clients.
func BenchmarkConsumeVsCheck(b *testing.B) {
	for _, path := range []string{api.PathQuotaCheck, api.PathQuotaConsume} {
		b.Run(strings.TrimPrefix(path, "/api/quota/"), func(b *testing.B) {
			ts := benchHost(b)
			c := newBenchClient()
			var n atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					// Distinct resources keep the community total from refusing.
					body := fmt.Sprintf(`{"batch":1,"resource":"r%d","idempotencyKey":"k%d"}`, i%1000, i)
					if path == api.PathQuotaCheck {
						body = fmt.Sprintf(`{"batch":1,"resource":"r%d"}`, i%1000)
					}
					if code := post(b, c, ts.URL+path, body); code != 200 {
						b.Errorf("status %d", code)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkStatusLatency reports p50/p99 of GET /api/sponsor/status.
func BenchmarkStatusLatency(b *testing.B) {
	ts := benchHost(b)
	c := newBenchClient()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+api.PathStatus, nil)
		req.Header.Set("Authorization", "Bearer bench-token")
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func waitHealthy(b *testing.B, url string) time.Time {
	c, err := hostclient.New(url, "unused")
	if err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if c.Healthz(context.Background()) == nil {
			return time.Now()
		}
	}
	b.Fatal("never healthy")
	return time.Time{}
}
