package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/internal/remote"
	"github.com/licensehost/licensehost/internal/remotetest"
	"github.com/licensehost/licensehost/internal/server"
	"github.com/licensehost/licensehost/storage"
)

// BenchmarkQuotaCheckHandler is one POST /api/quota/check through the
// handler alone, without a network, over real Badger with a sealed record,
// as the daemon runs it (metrics, an info-level log): the host's own CPU
// and allocations per request, beside the bare JSON handler of make
// bench-http (scripts/barejson). docs/benchmarks.md.
//
//	go test -run '^$' -bench QuotaCheckHandler -benchmem ./internal/server/
func BenchmarkQuotaCheckHandler(b *testing.B) {
	const body = `{"batch":5,"used":10}`
	for _, tc := range []struct {
		name string
		h    func(b *testing.B) http.Handler
	}{
		{"bare", func(*testing.B) http.Handler { return bareJSON() }},
		{"host", benchHandler},
		{"host-licensed", benchLicensed},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := tc.h(b)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, api.PathQuotaCheck, bytes.NewReader([]byte(body)))
				r.Header.Set("Authorization", "Bearer "+adminToken)
				r.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}

// bareJSON is scripts/barejson's handler.
func bareJSON() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Batch int64 }
		_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"allowed": in.Batch <= 20, "reason": "ok", "used": 0})
	})
}

// benchHandler is benchEngine's API: community edition.
func benchHandler(b *testing.B) http.Handler {
	h, _ := benchEngine(b, engine.Options{Remote: &enginetest.Remote{}})
	return h
}

// benchLicensed is benchEngine's API with a license activated through
// the contract server (limits and type from its license object).
func benchLicensed(b *testing.B) http.Handler {
	srv := remotetest.New(b)
	srv.AddLicense("LK-BENCH-0000-0001", 1, map[string]any{"licenseTypeName": "annual", "customField1": "100000", "customField2": 100, "customField3": "gold"})
	rc, err := remote.New(remote.Config{BaseURL: srv.URL()})
	if err != nil {
		b.Fatal(err)
	}
	h, eng := benchEngine(b, engine.Options{Remote: rc})
	if res, err := eng.Activate(context.Background(), "LK-BENCH-0000-0001"); err != nil || !res.Success {
		b.Fatalf("activate: %+v %v", res, err)
	}
	return h
}

// benchEngine is the API over real Badger in a temp dir with a sealed
// record on it (the clock's high-water mark, written by the first check),
// the daemon's metrics and an info-level log.
func benchEngine(b *testing.B, o engine.Options) (http.Handler, *engine.Engine) {
	b.Helper()
	st, err := storage.Open(filepath.Join(b.TempDir(), "db"), storage.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	m := server.NewMetrics()
	o.Store, o.Clock, o.Config, o.MachineID, o.Observer = st, systemClock{}, engine.DefaultConfig(), "server_0123456789abcdef", m
	o.SealKey = []byte("0123456789abcdef0123456789abcdef")
	eng, err := engine.New(o)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := eng.CheckIntegrity(context.Background()); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := server.New(eng, server.Options{AdminToken: adminToken, Metrics: m, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := eng.CheckQuota(context.Background(), engine.QuotaRequest{Batch: 1}); err != nil {
		b.Fatal(err)
	}
	if rec, err := st.Load(context.Background()); err != nil || rec.Seal == "" {
		b.Fatalf("no sealed record to load: %v", err)
	}
	return s, eng
}

// systemClock is the daemon's clock.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// BenchmarkQuotaCheckServer is BenchmarkQuotaCheckHandler through a real
// net/http server on loopback, one client: what the server allocates per
// request, the client's share included (go test -memprofile, focus on
// net/http.(*conn).serve for the server's).
func BenchmarkQuotaCheckServer(b *testing.B) {
	const body = `{"batch":5,"used":10}`
	for _, tc := range []struct {
		name string
		h    func(b *testing.B) http.Handler
	}{
		{"bare", func(*testing.B) http.Handler { return bareJSON() }},
		{"host", benchHandler},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ts := httptest.NewServer(tc.h(b))
			defer ts.Close()
			c := ts.Client()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, ts.URL+api.PathQuotaCheck, bytes.NewReader([]byte(body)))
				req.Header.Set("Authorization", "Bearer "+adminToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
