package storage

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/licensehost/licensehost/engine"
)

// Benchmarks of durable (fsynced) writes. Compare figures as ratios within
// one run; docs/benchmarks-storage.md has the command and a run.

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.TempDir(), Options{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func reportOps(b *testing.B, s *Store) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(s.conflicts.Load())/float64(b.N), "retries/op")
}

var benchNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func admitAll(int64) ([]byte, bool, error) { return []byte(`{"allowed":true}`), true, nil }

// BenchmarkUpdate: one durable record update with one event.
func BenchmarkUpdate(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		err := s.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
			r.ConsecutiveFailures = i
			return []engine.Event{{At: benchNow, Kind: engine.EventHeartbeatOK}}, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	reportOps(b, s)
}

// BenchmarkConsume: durable Consume calls, each with a fresh idempotency key.
// "sequential" is one caller; the parallel cases run 16 goroutines, on one
// counter each ("distinct") or all on the same counter ("shared"). Badger
// groups the commits waiting at the same moment into one write and one fsync,
// so distinct counters scale; a shared counter serialises on conflicts.
func BenchmarkConsume(b *testing.B) {
	var keys atomic.Int64
	nextKey := func() string { return fmt.Sprint("k", keys.Add(1)) }
	b.Run("sequential", func(b *testing.B) {
		s := benchStore(b)
		ctx := context.Background()
		for b.Loop() {
			if _, err := s.Consume(ctx, engine.ConsumeRequest{N: 1, IdempotencyKey: nextKey(), Now: benchNow}, admitAll); err != nil {
				b.Fatal(err)
			}
		}
		reportOps(b, s)
	})
	parallel := func(b *testing.B, shared bool) {
		s := benchStore(b)
		ctx := context.Background()
		var workers atomic.Int64
		b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)) // ≥ 16 goroutines
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			counter := "shared"
			if !shared {
				counter = fmt.Sprint("c", workers.Add(1))
			}
			for pb.Next() {
				req := engine.ConsumeRequest{Counter: counter, N: 1, IdempotencyKey: nextKey(), Now: benchNow}
				if _, err := s.Consume(ctx, req, admitAll); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportOps(b, s)
	}
	b.Run("parallel16-distinct", func(b *testing.B) { parallel(b, false) })
	b.Run("parallel16-shared", func(b *testing.B) { parallel(b, true) })
}

// TestFootprint measures memory and disk of the tuned options against
// Badger's defaults. It is a measurement, not a test: it runs only with
// LICENSEHOST_FOOTPRINT=1, and each configuration runs in its own child
// process so their memory does not mix. See docs/storage.md.
func TestFootprint(t *testing.T) {
	switch mode := os.Getenv("LICENSEHOST_FOOTPRINT"); {
	case strings.HasPrefix(mode, "child:"):
		footprintChild(t, strings.TrimPrefix(mode, "child:"))
		return
	case mode != "1":
		t.Skip("measurement; run with LICENSEHOST_FOOTPRINT=1")
	}
	for _, cfg := range []string{"badger-defaults", "licensehost"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFootprint$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "LICENSEHOST_FOOTPRINT=child:"+cfg)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cfg, err, out)
		}
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			if strings.Contains(sc.Text(), "FOOTPRINT") {
				t.Log(strings.TrimSpace(sc.Text()))
			}
		}
	}
}

func footprintChild(t *testing.T, cfg string) {
	dir := filepath.Join(t.TempDir(), "data")
	before := procStatus(t)
	opts := Options{Logger: quiet}
	bopt := badgerOptions(dir, quiet)
	if cfg == "badger-defaults" {
		bopt = badger.DefaultOptions(dir).WithSyncWrites(true).WithLogger(nil)
	}
	s, err := openWith(dir, opts, bopt)
	if err != nil {
		t.Fatal(err)
	}
	opened := procStatus(t)
	ctx := context.Background()
	start := time.Now()
	for i := range 1000 {
		err := s.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
			r.LicenseKey = "ABCD-EFGH-IJKL-MNOP"
			r.ConsecutiveFailures = i
			r.License = []byte(`{"licenseKey":"ABCD-EFGH-IJKL-MNOP","customField1":"500","customField2":"20"}`)
			return []engine.Event{{At: benchNow, Kind: engine.EventHeartbeatOK, Message: "heartbeat ok"}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 1000 {
		req := engine.ConsumeRequest{N: 1, IdempotencyKey: fmt.Sprint("req-", i), Now: benchNow}
		if _, err := s.Consume(ctx, req, admitAll); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Events(ctx, 0); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	after := procStatus(t)
	openUsed, openApparent := diskUsage(t, dir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	used, apparent := diskUsage(t, dir)
	t.Logf("FOOTPRINT %s: RSS KiB before open %d, after open %d, after work %d, peak (VmHWM) %d; VmSize KiB after work %d; disk KiB while open %d used / %d apparent, after close %d used / %d apparent; 2000 durable writes took %v",
		cfg, before["VmRSS"], opened["VmRSS"], after["VmRSS"], after["VmHWM"], after["VmSize"],
		openUsed/1024, openApparent/1024, used/1024, apparent/1024, elapsed.Round(time.Millisecond))
}

// procStatus reads the kB figures of /proc/self/status.
func procStatus(t *testing.T) map[string]int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	m := map[string]int64{}
	for _, line := range strings.Split(string(raw), "\n") {
		var k string
		var v int64
		if n, _ := fmt.Sscanf(strings.Replace(line, ":", " ", 1), "%s %d kB", &k, &v); n == 2 {
			m[k] = v
		}
	}
	return m
}

// diskUsage returns the allocated (like du) and apparent bytes under dir.
func diskUsage(t *testing.T, dir string) (used, apparent int64) {
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		apparent += fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			used += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return used, apparent
}
