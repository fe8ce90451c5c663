package engine_test

import (
	"context"
	"errors"
	"github.com/licensehost/licensehost/internal/licapi"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/engine/enginetest"
)

func TestNextHeartbeat(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	cases := []struct {
		now    time.Time
		minute int
		want   time.Time
	}{
		{time.Date(2026, 5, 1, 1, 0, 0, 0, shanghai), 0, time.Date(2026, 5, 1, 3, 0, 0, 0, shanghai)},
		{time.Date(2026, 5, 1, 1, 0, 0, 0, shanghai), 119, time.Date(2026, 5, 1, 4, 59, 0, 0, shanghai)},
		{time.Date(2026, 5, 1, 3, 30, 0, 0, shanghai), 30, time.Date(2026, 5, 2, 3, 30, 0, 0, shanghai)},
		{time.Date(2026, 5, 1, 3, 30, 0, 0, shanghai), 31, time.Date(2026, 5, 1, 3, 31, 0, 0, shanghai)},
		{time.Date(2026, 12, 31, 23, 0, 0, 0, shanghai), 10, time.Date(2027, 1, 1, 3, 10, 0, 0, shanghai)},
	}
	for _, c := range cases {
		got := engine.NextHeartbeat(c.now, func(n int) int {
			if n != 120 {
				t.Fatalf("intn(%d), want 120 minutes", n)
			}
			return c.minute
		})
		if !got.Equal(c.want) {
			t.Errorf("NextHeartbeat(%v, %d) = %v, want %v", c.now, c.minute, got, c.want)
		}
	}
	// Always inside the window, always in the future.
	now := time.Date(2026, 5, 1, 4, 59, 59, 0, time.Local)
	for m := range 120 {
		got := engine.NextHeartbeat(now, func(int) int { return m })
		h := got.Hour()
		if !got.After(now) || h < 3 || h >= 5 {
			t.Fatalf("minute %d: %v is outside 03:00–05:00 or not after now", m, got)
		}
	}
}

// fakeTimers lets a test drive RunHeartbeats with a fake clock: every wait
// advances the clock by the requested duration and fires at once.
func fakeTimers(clock *enginetest.Clock, waits *[]time.Duration) func(time.Duration) <-chan time.Time {
	return func(d time.Duration) <-chan time.Time {
		*waits = append(*waits, d)
		clock.Advance(d)
		ch := make(chan time.Time, 1)
		ch <- clock.Now()
		return ch
	}
}

func TestRunHeartbeatsRetriesAndNeverPanics(t *testing.T) {
	clock := enginetest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	store := enginetest.NewMemStore()
	var calls atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	remote := &enginetest.Remote{VerifyFunc: func(ctx context.Context, req licapi.VerifyRequest) (engine.RemoteResult, error) {
		switch calls.Add(1) {
		case 1: // activation
			return engine.RemoteResult{Success: true, HTTPStatus: 200}, nil
		case 2:
			panic("remote blew up")
		case 3:
			return engine.RemoteResult{}, &engine.RemoteError{Message: "connection refused"}
		default:
			cancel()
			return engine.RemoteResult{Success: true, HTTPStatus: 200}, nil
		}
	}}
	e := newEngine(t, store, remote, clock, engine.DefaultConfig())
	if res, err := e.Activate(ctx, "LK-AAAA-BBBB-CCCC"); err != nil || !res.Success {
		t.Fatalf("activate: %+v %v", res, err)
	}
	var waits []time.Duration
	var runs []bool
	err := e.RunHeartbeats(ctx, engine.SchedulerOptions{
		After:   fakeTimers(clock, &waits),
		Intn:    func(int) int { return 0 },
		Backoff: []time.Duration{time.Minute, 10 * time.Minute},
		OnRun:   func(r engine.ActionResult, err error) { runs = append(runs, err == nil && r.Success) },
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RunHeartbeats returned %v, want context.Canceled", err)
	}
	if calls.Load() != 4 {
		t.Fatalf("remote called %d times, want 4 (activation, panic, failure, success)", calls.Load())
	}
	if len(runs) != 2 || runs[0] || runs[1] {
		t.Fatalf("runs = %v, want two failures reported before the cancelling success", runs)
	}
	// First wait reaches 03:00 next day in hour-long steps, then 1 min, then 10 min backoff.
	total := time.Duration(0)
	for _, w := range waits {
		if w > time.Hour {
			t.Fatalf("a single wait of %v exceeds an hour", w)
		}
		total += w
	}
	if want := 15*time.Hour + time.Minute + 10*time.Minute; total != want {
		t.Fatalf("waited %v in all (%v), want %v", total, waits, want)
	}
	rec, err := store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The panic is a local bug, not a remote failure: only the refused
	// connection counts. The last heartbeat was cut short by the shutdown
	// (ctx cancelled) and wrote nothing.
	if rec.ConsecutiveFailures != 1 {
		t.Fatalf("consecutive failures = %d, want 1", rec.ConsecutiveFailures)
	}
}

func TestRunHeartbeatsStopsOnCancel(t *testing.T) {
	clock := enginetest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	e := newEngine(t, enginetest.NewMemStore(), &enginetest.Remote{}, clock, engine.DefaultConfig())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.RunHeartbeats(ctx, engine.SchedulerOptions{}) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunHeartbeats did not stop after cancel")
	}
}

func newEngine(t *testing.T, store engine.Store, remote engine.RemoteClient, clock engine.Clock, cfg engine.Config) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Options{Store: store, Remote: remote, Clock: clock, Config: cfg, MachineID: thisMachine})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
