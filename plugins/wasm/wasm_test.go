package wasm_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/plugins/policytest"
	"github.com/licensehost/licensehost/plugins/wasm"
	"github.com/licensehost/licensehost/plugins/wire"
)

// cacheDir is shared by the tests of this binary so the 2 MB Go modules are
// compiled once.
var cacheDir string

func TestMain(m *testing.M) {
	wasm.ServeCompile()
	dir, err := os.MkdirTemp("", "wasmcache")
	if err != nil {
		panic(err)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func fixture(t testing.TB, name string) ([]byte, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

func load(t testing.TB, name string, cfg wasm.Config) *wasm.Policy {
	t.Helper()
	p, err := loadErr(t, name, cfg)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func loadErr(t testing.TB, name string, cfg wasm.Config) (*wasm.Policy, error) {
	b, sum := fixture(t, name)
	if cfg.SHA256 == "" {
		cfg.SHA256 = sum
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = cacheDir
	}
	if cfg.Timeout == 0 {
		// Wide: on a loaded machine a well-behaved call (or the wait for a
		// fresh instance) can take longer than DefaultTimeout. Tests of the
		// deadline set a short Timeout of their own.
		cfg.Timeout = wideTimeout
	}
	cfg.Name = "wasm:" + name
	return wasm.New(context.Background(), b, cfg)
}

// wideTimeout is the call timeout of tests that do not test the deadline.
const wideTimeout = 10 * time.Second

var sample = policytest.Sample

func TestConformanceGoGuest(t *testing.T) {
	p := load(t, "builtin.wasm", wasm.Config{})
	policytest.Run(t, p)
	d, _ := p.Decide(context.Background(), sample)
	if d.Policy != "wasm:builtin.wasm" {
		t.Errorf("policy name %q", d.Policy)
	}
}

// The hand-written WAT policy gives the built-in answers, without messages.
func TestConformanceWAT(t *testing.T) {
	p := load(t, "wat.wasm", wasm.Config{})
	for _, c := range policytest.Cases {
		got, err := p.Decide(context.Background(), c.In)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		want := c.Want
		want.Message = ""
		if msg := policytest.Diff(got, want); msg != "" {
			t.Errorf("%s: %s", c.Name, msg)
		}
	}
}

func TestTiered(t *testing.T) {
	p := load(t, "tiered.wasm", wasm.Config{})
	in := sample
	in.CustomField1, in.Batch, in.Limits.Batch = "60", 51, nil
	d, err := p.Decide(context.Background(), in)
	if err != nil || d.Allowed || d.Reason != engine.ReasonBatchExceeded || *d.Limits.Total != 60 || *d.Limits.Batch != 50 {
		t.Errorf("年度版 batch 51: %s, %v", policytest.Format(d), err)
	}
	in.LicenseType, in.Batch = "终生赞助版", 500
	d, err = p.Decide(context.Background(), in)
	if err != nil || !d.Allowed || d.Limits.Batch != nil {
		t.Errorf("终生赞助版 batch 500: %s, %v", policytest.Format(d), err)
	}
}

// Many callers share few instances (the pool's idle slot and its channel),
// some of them giving up at once, and every decision is right.
func TestConcurrentDecisions(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, n := range []int{1, 2} {
		// A long timeout: this is about the pool, and on a loaded machine
		// eight callers queueing for one instance can wait 100 ms.
		p := load(t, "builtin.wasm", wasm.Config{Instances: n, Timeout: time.Minute})
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 300 {
					in := sample
					in.Used = int64(g*1000 + i)
					ctx := context.Background()
					if i%7 == g {
						ctx = canceled
					}
					d, err := p.Decide(ctx, in)
					if errors.Is(err, wire.ErrCanceled) && ctx == canceled {
						continue
					}
					want := engine.DecideBuiltin(in)
					if err != nil || d.Allowed != want.Allowed || d.Message != want.Message {
						t.Errorf("%d instances, used %d: %s, %v", n, in.Used, policytest.Format(d), err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}

// Every hostile module fails its call with the right kind of error, and the
// policy keeps answering afterwards (a fresh instance replaces the failed one).
func TestHostileCalls(t *testing.T) {
	for _, c := range []struct {
		file string
		kind error
	}{
		{"loop.wasm", wire.ErrTimeout},
		{"recurse.wasm", wire.ErrTimeout},
		{"grow.wasm", wire.ErrTrap},
		{"trap.wasm", wire.ErrTrap},
		{"bigout.wasm", wire.ErrBadOutput},
		{"badout.wasm", wire.ErrBadOutput},
	} {
		t.Run(c.file, func(t *testing.T) {
			p := load(t, c.file, wasm.Config{Timeout: callTimeout(c.kind), MemoryPages: 64, MaxOutput: 4096})
			for range 3 {
				start := time.Now()
				_, err := p.Decide(context.Background(), sample)
				if !errors.Is(err, c.kind) {
					t.Fatalf("Decide error = %v, want %v", err, c.kind)
				}
				if c.kind == wire.ErrTimeout && time.Since(start) > 10*time.Second {
					t.Fatalf("the runaway guest was not stopped (%v)", time.Since(start))
				}
			}
			t.Logf("%s: %v", wire.FallbackReason(err(p)), err(p))
		})
	}
}

// callTimeout is the Timeout for a module whose calls fail with kind: short
// where the deadline is what stops the guest, wide otherwise, so that a
// loaded machine cannot turn a trap or bad output (or the wait for the
// replacement instance) into a timeout.
func callTimeout(kind error) time.Duration {
	if kind == wire.ErrTimeout {
		return 50 * time.Millisecond
	}
	return wideTimeout
}

func err(p *wasm.Policy) error { _, e := p.Decide(context.Background(), sample); return e }

func TestRefusedAtLoad(t *testing.T) {
	for _, c := range []struct {
		file string
		cfg  wasm.Config
		want error
	}{
		{"abi2.wasm", wasm.Config{}, wasm.ErrABIVersion},
		{"noexports.wasm", wasm.Config{}, wasm.ErrExports},
		{"builtin.wasm", wasm.Config{SHA256: "00" + hex.EncodeToString(make([]byte, 31))}, wasm.ErrHashMismatch},
		{"initloop.wasm", wasm.Config{InitTimeout: 50 * time.Millisecond}, wire.ErrTimeout},
		{"bigmem.wasm", wasm.Config{MemoryPages: 256}, nil},
		{"builtin.wasm", wasm.Config{MemoryPages: 8}, nil}, // the Go runtime needs 36 pages
	} {
		p, err := loadErr(t, c.file, c.cfg)
		if err == nil {
			p.Close(context.Background())
			t.Errorf("%s loaded; want it refused", c.file)
			continue
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.file, err, c.want)
		}
		t.Logf("%s refused: %v", c.file, err)
	}
}

func TestGuestOutputCaptured(t *testing.T) {
	p := load(t, "stderr.wasm", wasm.Config{MaxLog: 100})
	_, e := p.Decide(context.Background(), sample)
	var ce *wire.CallError
	if !errors.As(e, &ce) || !errors.Is(e, wire.ErrTrap) {
		t.Fatalf("error %T %v, want a *wire.CallError of kind trap", e, e)
	}
	if !strings.HasPrefix(ce.Output, "guest says: something went wrong\n") || !strings.Contains(ce.Output, "65900 more bytes dropped") {
		t.Errorf("captured output %q", ce.Output)
	}
}

func TestCloseWaitsForInFlight(t *testing.T) {
	p, e := loadErr(t, "builtin.wasm", wasm.Config{Instances: 2})
	if e != nil {
		t.Fatal(e)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := p.Decide(context.Background(), sample); err != nil && !errors.Is(err, wire.ErrUnavailable) {
					t.Errorf("Decide during Close: %v", err)
					return
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if _, err := p.Decide(context.Background(), sample); !errors.Is(err, wire.ErrUnavailable) {
		t.Errorf("Decide after Close: %v", err)
	}
}

// Guests see wazero's fake clocks, never the host's time.
func TestGuestClockIsFake(t *testing.T) {
	p := load(t, "clock.wasm", wasm.Config{})
	d, e := p.Decide(context.Background(), sample)
	if e != nil {
		t.Fatal(e)
	}
	wall := time.Unix(0, *d.Limits.Total)
	if wall.After(time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("guest wall clock reads %v: the host's real clock leaks", wall)
	}
	mono := *d.Limits.Batch
	time.Sleep(10 * time.Millisecond)
	d, _ = p.Decide(context.Background(), sample)
	// wazero's fake wall clock ticks 1 ms per reading, whatever the time.
	if step := time.Duration(*d.Limits.Total - wall.UnixNano()); step >= 10*time.Millisecond {
		t.Errorf("guest wall clock followed real time: %v then %v", wall, time.Unix(0, *d.Limits.Total))
	}
	if elapsed := *d.Limits.Batch - mono; elapsed >= int64(10*time.Millisecond) {
		t.Errorf("guest monotonic clock followed real time (%v)", time.Duration(elapsed))
	}
	t.Logf("guest wall clock %v, monotonic step %v", wall.UTC(), time.Duration(*d.Limits.Batch-mono))
}

// A runaway guest comes back to Go at every loop head (wazero's
// WithCloseOnContextDone), so with a single P the rest of the program still
// runs while it spins — here a stop of the
// world (runtime.ReadMemStats), which needs the guest's goroutine to stop at
// a safe point — and the guest can be stopped long before its timeout.
func TestRunawayGuestLetsGoRun(t *testing.T) {
	p, e := loadErr(t, "loop.wasm", wasm.Config{Timeout: time.Hour, Instances: 1})
	if e != nil {
		t.Fatal(e)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	started, done := make(chan struct{}), make(chan error, 1)
	go func() {
		close(started)
		_, err := p.Decide(context.Background(), sample)
		done <- err
	}()
	<-started
	runtime.Gosched() // let the guest start spinning
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	select {
	case err := <-done:
		t.Fatalf("the guest ended (%v) before the world could stop: want it stopped while the guest spins", err)
	default:
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, wire.ErrUnavailable) {
		t.Errorf("Decide: %v, want stopped by Close", err)
	}
}

// Closing the policy stops a guest that is still running, without waiting
// for its timeout.
func TestCloseStopsRunningGuest(t *testing.T) {
	p, e := loadErr(t, "loop.wasm", wasm.Config{Timeout: time.Minute, Instances: 1})
	if e != nil {
		t.Fatal(e)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Decide(context.Background(), sample)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, wire.ErrUnavailable) {
		t.Errorf("Decide during Close: %v, want unavailable (stopped by Close, not by its timeout)", err)
	}
}

// An input longer than the guest's buffer gets a bigger one from
// policy_alloc, and shorter ones keep using it.
func TestInputOutgrowsGuestBuffer(t *testing.T) {
	for _, file := range []string{"builtin.wasm", "wat.wasm"} {
		p := load(t, file, wasm.Config{Instances: 1})
		for _, n := range []int{10, 5000, 10, 20000, 3} {
			in := sample
			in.Resource = strings.Repeat("r", n)
			in.Features = []string{strings.Repeat("f", n/2)}
			d, err := p.Decide(context.Background(), in)
			if want := engine.DecideBuiltin(in); err != nil || d.Allowed != want.Allowed || *d.Limits.Total != *want.Limits.Total {
				t.Errorf("%s, %d-byte resource: %s, %v", file, n, policytest.Format(d), err)
			}
		}
	}
}

// Callers waiting for a busy instance when the policy closes are told it is
// unavailable. (The race that used to leave one waiting for ever — it
// started waiting after Close had taken the last slot — is narrow: it
// shows under TestCloseWaitsForInFlight -count=300.)
func TestCloseReleasesWaitingCallers(t *testing.T) {
	p, e := loadErr(t, "loop.wasm", wasm.Config{Timeout: time.Minute, Instances: 1})
	if e != nil {
		t.Fatal(e)
	}
	errs := make(chan error, 3)
	for range 3 { // one spins in the guest, two wait for the instance
		go func() {
			_, err := p.Decide(context.Background(), sample)
			errs <- err
		}()
	}
	time.Sleep(50 * time.Millisecond)
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := <-errs; !errors.Is(err, wire.ErrUnavailable) {
			t.Errorf("Decide: %v, want unavailable", err)
		}
	}
}
