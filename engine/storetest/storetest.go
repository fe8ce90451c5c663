// Package storetest is the one conformance suite of engine.Store. Every
// implementation (enginetest.MemStore, storage.Store) runs it:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, l engine.StoreLimits) engine.Store { … })
//	}
//
// and a persistent implementation also runs RunPersistent, which closes and
// reopens a store on the same directory.
//
// Behaviour the suite pins down beyond the interface's doc comments:
//   - Update stamps engine.SchemaVersion on the record it writes.
//   - Consume refuses N ≤ 0 with engine.ErrInvalidRequest.
//   - Idempotency keys are global across counters, and a replay returns the
//     first call's Answer, Used and Admitted with Replayed=true, without
//     calling decide.
//   - Events(ctx, limit ≤ 0) returns every retained event.
//   - RecordGeneration changes with every Update that writes, and Load,
//     Consume, Usage, AppendEvent and Events leave it as it is; a record
//     loaded after reading a generation is never older than the write
//     that generation followed.
//   - After Close every method fails with engine.ErrClosed; Close twice is nil.
//   - A cancelled context fails every method with the context's error.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
)

// Opener returns a new, empty store bounded by limits (zero fields mean the
// engine defaults). The suite closes the store it gets; the opener may also
// register its own cleanup.
type Opener func(t *testing.T, limits engine.StoreLimits) engine.Store

// DirOpener opens a store on dir, which persists across calls with the same
// dir. The suite closes every store it opens.
type DirOpener func(t *testing.T, dir string) engine.Store

// t0 is the suite's fixed "now".
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var errBoom = errors.New("storetest: boom")

// Run runs the conformance suite against stores from open.
func Run(t *testing.T, open Opener) {
	fresh := func(t *testing.T) engine.Store {
		t.Helper()
		return openClosed(t, open, engine.StoreLimits{})
	}
	t.Run("LoadEmpty", func(t *testing.T) { testLoadEmpty(t, fresh(t)) })
	t.Run("UpdateCreates", func(t *testing.T) { testUpdateCreates(t, fresh(t)) })
	t.Run("UpdateRoundTrip", func(t *testing.T) { testUpdateRoundTrip(t, fresh(t)) })
	t.Run("UpdateNoAliasing", func(t *testing.T) { testNoAliasing(t, fresh(t)) })
	t.Run("UpdateError", func(t *testing.T) { testUpdateError(t, fresh(t)) })
	t.Run("UpdateEvents", func(t *testing.T) { testUpdateEvents(t, fresh(t)) })
	t.Run("ConcurrentUpdates", func(t *testing.T) { testConcurrentUpdates(t, fresh(t)) })
	t.Run("RecordGeneration", func(t *testing.T) { testRecordGeneration(t, fresh(t)) })
	t.Run("RecordGenerationConcurrent", func(t *testing.T) { testRecordGenerationConcurrent(t, fresh(t)) })
	t.Run("Consume", func(t *testing.T) { testConsume(t, fresh(t)) })
	t.Run("ConsumeInvalid", func(t *testing.T) { testConsumeInvalid(t, fresh(t)) })
	t.Run("ConsumeDecideError", func(t *testing.T) { testConsumeDecideError(t, fresh(t)) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, fresh(t)) })
	t.Run("IdempotencyRefusedFirst", func(t *testing.T) { testIdempotencyRefused(t, fresh(t)) })
	t.Run("IdempotencyConcurrent", func(t *testing.T) { testIdempotencyConcurrent(t, fresh(t)) })
	t.Run("IdempotencyKeep", func(t *testing.T) {
		testIdempotencyKeep(t, openClosed(t, open, engine.StoreLimits{IdempotencyKeep: 4}))
	})
	t.Run("IdempotencyTTL", func(t *testing.T) {
		testIdempotencyTTL(t, openClosed(t, open, engine.StoreLimits{IdempotencyTTL: time.Hour}))
	})
	t.Run("ConcurrentConsumeNeverOverAdmits", func(t *testing.T) { testConcurrentConsume(t, fresh(t)) })
	t.Run("CountersIndependent", func(t *testing.T) { testCountersIndependent(t, fresh(t)) })
	t.Run("Events", func(t *testing.T) { testEvents(t, fresh(t)) })
	t.Run("EventLogBounded", func(t *testing.T) {
		testEventLogBounded(t, openClosed(t, open, engine.StoreLimits{EventLogCap: 5}))
	})
	t.Run("Closed", func(t *testing.T) { testClosed(t, open(t, engine.StoreLimits{})) })
	t.Run("ContextCancelled", func(t *testing.T) { testCancelled(t, fresh(t)) })
}

func openClosed(t *testing.T, open Opener, l engine.StoreLimits) engine.Store {
	t.Helper()
	s := open(t, l)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// admitUpTo is a ConsumeFunc admitting while used+n ≤ limit; its answer
// records what it saw.
func admitUpTo(limit, n int64) engine.ConsumeFunc {
	return func(used int64) ([]byte, bool, error) {
		ok := used+n <= limit
		return fmt.Appendf(nil, `{"allowed":%t,"sawUsed":%d}`, ok, used), ok, nil
	}
}

func consume(t *testing.T, s engine.Store, req engine.ConsumeRequest, decide engine.ConsumeFunc) engine.ConsumeResult {
	t.Helper()
	if req.Now.IsZero() {
		req.Now = t0
	}
	res, err := s.Consume(context.Background(), req, decide)
	if err != nil {
		t.Fatalf("Consume(%+v): %v", req, err)
	}
	return res
}

func usage(t *testing.T, s engine.Store, counter string) int64 {
	t.Helper()
	n, err := s.Usage(context.Background(), counter)
	if err != nil {
		t.Fatalf("Usage(%q): %v", counter, err)
	}
	return n
}

func load(t *testing.T, s engine.Store) engine.Record {
	t.Helper()
	rec, err := s.Load(context.Background())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return rec
}

// update runs s.Update with fn and fails the test on an error.
func update(t *testing.T, s engine.Store, fn func(r *engine.Record) []engine.Event) {
	t.Helper()
	if err := s.Update(context.Background(), func(r *engine.Record) ([]engine.Event, error) { return fn(r), nil }); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// noEvents fails the test when s holds an event; what says when.
func noEvents(t *testing.T, s engine.Store, what string) {
	t.Helper()
	if evs := events(t, s, 0); len(evs) != 0 {
		t.Fatalf("%s: events %+v", what, evs)
	}
}

func events(t *testing.T, s engine.Store, limit int) []engine.Event {
	t.Helper()
	evs, err := s.Events(context.Background(), limit)
	if err != nil {
		t.Fatalf("Events(%d): %v", limit, err)
	}
	return evs
}

func messages(evs []engine.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Message
	}
	return out
}

func checkNewestFirst(t *testing.T, evs []engine.Event) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq >= evs[i-1].Seq {
			t.Fatalf("events not newest first by Seq: %+v", evs)
		}
	}
}

func jsonEqual(t *testing.T, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Fatalf("mismatch\n got: %s\nwant: %s", g, w)
	}
}

func testLoadEmpty(t *testing.T, s engine.Store) {
	_, err := s.Load(context.Background())
	if !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("Load on empty store: err = %v, want ErrNotFound", err)
	}
	noEvents(t, s, "empty store")
}

func testUpdateCreates(t *testing.T, s engine.Store) {
	update(t, s, func(r *engine.Record) []engine.Event {
		if r.SchemaVersion != engine.SchemaVersion || r.HasLicense() {
			t.Errorf("fn got %+v, want a zero record with SchemaVersion %d", *r, engine.SchemaVersion)
		}
		r.LicenseKey = "KEY-1"
		return nil
	})
	rec := load(t, s)
	if rec.LicenseKey != "KEY-1" || rec.SchemaVersion != engine.SchemaVersion {
		t.Fatalf("Load = %+v", rec)
	}
	// A second update sees the first.
	update(t, s, func(r *engine.Record) []engine.Event {
		if r.LicenseKey != "KEY-1" {
			t.Errorf("second Update sees LicenseKey %q", r.LicenseKey)
		}
		r.SchemaVersion = 0 // the store stamps its own version
		r.MachineID = "server_0123456789abcdef"
		return nil
	})
	rec = load(t, s)
	if rec.LicenseKey != "KEY-1" || rec.MachineID != "server_0123456789abcdef" || rec.SchemaVersion != engine.SchemaVersion {
		t.Fatalf("Load = %+v", rec)
	}
}

// FullRecord returns a record with every field set, for round-trip tests.
func FullRecord() engine.Record {
	total, batch := int64(500), int64(25)
	return engine.Record{
		SchemaVersion:             engine.SchemaVersion,
		LicenseKey:                "ABCD-EFGH-IJKL-MNOP",
		MachineID:                 "server_0123456789abcdef",
		VerificationToken:         "tok",
		Status:                    engine.StatusGrace,
		RemoteVerifiedAt:          t0.Add(-48 * time.Hour),
		LocalVerifiedAt:           t0,
		LastRemoteErrorMessage:    "bad gateway",
		LastRemoteErrorHTTPStatus: 502,
		LastRemoteErrorTime:       t0.Add(-time.Hour),
		LastLicenseTypeName:       "pro",
		LimitTotal:                &total,
		LimitBatch:                &batch,
		ConsecutiveFailures:       3,
		FirstFailureAt:            t0.Add(-24 * time.Hour),
		DeviceSwitchRequestedAt:   t0.Add(-2 * time.Hour),
		OldMachineID:              "server_fedcba9876543210",
		SwitchedToMachineID:       "server_1111111111111111",
		License:                   json.RawMessage(`{"licenseKey":"ABCD-EFGH-IJKL-MNOP","maxUses":"10","customField1":500}`),
		ExpiresAt:                 t0.Add(365 * 24 * time.Hour),
		ClockHighWater:            t0.Add(time.Minute),
		Signals:                   map[string]string{"cpu": "8", "mem": "16GiB"},
		LastRefresh:               engine.Refresh{Kind: "heartbeat", Success: false, HTTPStatus: 502, Message: "bad gateway", At: t0},
	}
}

func testUpdateRoundTrip(t *testing.T, s engine.Store) {
	want := FullRecord()
	update(t, s, func(r *engine.Record) []engine.Event {
		*r = FullRecord()
		return nil
	})
	jsonEqual(t, load(t, s), want)
}

func testNoAliasing(t *testing.T, s engine.Store) {
	var kept *engine.Record
	update(t, s, func(r *engine.Record) []engine.Event {
		*r = FullRecord()
		kept = r
		return nil
	})
	// Mutating what fn was given, or what Load returned, changes nothing stored.
	kept.Signals["cpu"] = "changed"
	*kept.LimitTotal = 1
	kept.License[2] = 'X'
	got := load(t, s)
	got.Signals["mem"] = "changed"
	*got.LimitBatch = 1
	got.License[3] = 'Y'
	jsonEqual(t, load(t, s), FullRecord())
}

func testUpdateError(t *testing.T, s engine.Store) {
	ctx := context.Background()
	err := s.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
		r.LicenseKey = "NOPE"
		return []engine.Event{{At: t0, Kind: engine.EventActivated, Message: "never"}}, errBoom
	})
	if err != errBoom { //nolint:errorlint // the error must come back unchanged
		t.Fatalf("Update returned %v, want errBoom unchanged", err)
	}
	if _, err := s.Load(ctx); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("after failed Update, Load err = %v, want ErrNotFound", err)
	}
	noEvents(t, s, "failed Update")
	// With a record in place, a failing fn leaves it as it was.
	update(t, s, func(r *engine.Record) []engine.Event {
		r.LicenseKey = "KEEP"
		return nil
	})
	wrapped := fmt.Errorf("wrapped: %w", errBoom)
	err = s.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
		r.LicenseKey = "NOPE"
		return []engine.Event{{At: t0, Kind: engine.EventCleared}}, wrapped
	})
	if err != wrapped || !errors.Is(err, errBoom) { //nolint:errorlint // unchanged
		t.Fatalf("Update returned %v, want the wrapped error unchanged", err)
	}
	if got := load(t, s).LicenseKey; got != "KEEP" {
		t.Fatalf("failed Update changed the record: LicenseKey %q", got)
	}
	noEvents(t, s, "failed Update")
}

func testUpdateEvents(t *testing.T, s engine.Store) {
	update(t, s, func(r *engine.Record) []engine.Event {
		r.LicenseKey = "K"
		return []engine.Event{
			{At: t0, Kind: engine.EventActivated, Message: "first"},
			{At: t0.Add(time.Second), Kind: engine.EventHeartbeatOK, Message: "second", Seq: 999},
		}
	})
	evs := events(t, s, 0)
	if got := messages(evs); len(got) != 2 || got[0] != "second" || got[1] != "first" {
		t.Fatalf("events = %+v, want second, first", evs)
	}
	checkNewestFirst(t, evs)
	if evs[1].Kind != engine.EventActivated || !evs[1].At.Equal(t0) || evs[1].Seq == 0 {
		t.Fatalf("event not kept as written (Seq assigned by the store): %+v", evs[1])
	}
	if evs[0].Seq == 999 {
		t.Fatalf("store kept the caller's Seq; it must assign its own")
	}
}

func testConcurrentUpdates(t *testing.T, s engine.Store) {
	const workers, each = 8, 5
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				err := s.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
					r.ConsecutiveFailures++
					return []engine.Event{{At: t0, Kind: engine.EventHeartbeatFail, Message: fmt.Sprint(w, "/", i)}}, nil
				})
				if err != nil {
					t.Errorf("Update: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if got := load(t, s).ConsecutiveFailures; got != workers*each {
		t.Fatalf("ConsecutiveFailures = %d after %d increments (lost update)", got, workers*each)
	}
	evs := events(t, s, 0)
	if len(evs) != workers*each {
		t.Fatalf("%d events, want %d", len(evs), workers*each)
	}
	checkNewestFirst(t, evs)
}

func generation(t *testing.T, s engine.Store) uint64 {
	t.Helper()
	g, err := s.RecordGeneration(context.Background())
	if err != nil {
		t.Fatalf("RecordGeneration: %v", err)
	}
	return g
}

// testRecordGeneration: every Update that writes moves the generation; the
// reads and the writes of other keys do not.
func testRecordGeneration(t *testing.T, s engine.Store) {
	ctx := context.Background()
	g := generation(t, s)
	still := func(op string) {
		t.Helper()
		if now := generation(t, s); now != g {
			t.Fatalf("%s changed the record generation: %d → %d", op, g, now)
		}
	}
	moved := func(op string) {
		t.Helper()
		now := generation(t, s)
		if now == g {
			t.Fatalf("%s wrote the record and left the generation at %d", op, g)
		}
		g = now
	}
	if _, err := s.Load(ctx); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("Load: %v", err)
	}
	still("Load of an empty store")
	for i := range 3 {
		if err := s.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
			r.LicenseKey = fmt.Sprintf("KEY-%d", i)
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		moved(fmt.Sprintf("Update %d", i))
	}
	if err := s.Update(ctx, func(*engine.Record) ([]engine.Event, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	moved("an Update that changes no field") // it rewrites the record all the same
	load(t, s)
	still("Load")
	consume(t, s, engine.ConsumeRequest{N: 1, IdempotencyKey: "gen"}, admitUpTo(10, 1))
	still("Consume")
	usage(t, s, "")
	still("Usage")
	if err := s.AppendEvent(ctx, engine.Event{At: t0, Message: "gen"}); err != nil {
		t.Fatal(err)
	}
	still("AppendEvent")
	events(t, s, 0)
	still("Events")
	if got := load(t, s).LicenseKey; got != "KEY-2" {
		t.Fatalf("record = %q, want the last Update's", got)
	}
}

// testRecordGenerationConcurrent: readers that load after reading a
// generation while a writer updates never get a record older than the
// write that generation followed — what a cache keyed by the generation
// relies on.
func testRecordGenerationConcurrent(t *testing.T, s engine.Store) {
	ctx := context.Background()
	const writes = 200
	var (
		mu    sync.Mutex
		after = map[uint64]int{} // generation after write n → n
	)
	write := func(n int) {
		if err := s.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
			r.ConsecutiveFailures = n
			return nil, nil
		}); err != nil {
			t.Error(err)
		}
	}
	write(0)
	after[generation(t, s)] = 0
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for n := 1; n <= writes; n++ {
			write(n)
			g := generation(t, s)
			mu.Lock()
			after[g] = n
			mu.Unlock()
		}
	})
	type seen struct {
		gen uint64
		n   int
	}
	var reads []seen
	for i := 0; i < 4; i++ {
		wg.Go(func() {
			var mine []seen
			for {
				select {
				case <-done:
					mu.Lock()
					reads = append(reads, mine...)
					mu.Unlock()
					return
				default:
				}
				g, err := s.RecordGeneration(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				rec, err := s.Load(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				mine = append(mine, seen{g, rec.ConsecutiveFailures})
			}
		})
	}
	wg.Wait()
	checked := 0
	for _, r := range reads {
		n, ok := after[r.gen]
		if !ok {
			continue // a generation no writer read back (between a commit and the next read)
		}
		checked++
		if r.n < n {
			t.Fatalf("read at generation %d (after write %d) loaded write %d: older than its generation", r.gen, n, r.n)
		}
	}
	if len(reads) > 0 && checked == 0 {
		t.Fatalf("no read could be checked against a write (%d reads)", len(reads))
	}
}

func testConsume(t *testing.T, s engine.Store) {
	req := engine.ConsumeRequest{N: 2}
	res := consume(t, s, req, admitUpTo(3, 2))
	if !res.Admitted || res.Used != 2 || res.Replayed || string(res.Answer) != `{"allowed":true,"sawUsed":0}` {
		t.Fatalf("first Consume = %+v", res)
	}
	res = consume(t, s, req, admitUpTo(3, 2))
	if res.Admitted || res.Used != 2 || string(res.Answer) != `{"allowed":false,"sawUsed":2}` {
		t.Fatalf("refused Consume = %+v", res)
	}
	res = consume(t, s, engine.ConsumeRequest{N: 1}, admitUpTo(3, 1))
	if !res.Admitted || res.Used != 3 {
		t.Fatalf("third Consume = %+v", res)
	}
	if got := usage(t, s, ""); got != 3 {
		t.Fatalf("Usage = %d, want 3", got)
	}
}

func testConsumeInvalid(t *testing.T, s engine.Store) {
	for _, n := range []int64{0, -1} {
		_, err := s.Consume(context.Background(), engine.ConsumeRequest{N: n, Now: t0}, admitUpTo(10, n))
		if !errors.Is(err, engine.ErrInvalidRequest) {
			t.Fatalf("Consume N=%d: err = %v, want ErrInvalidRequest", n, err)
		}
	}
	if got := usage(t, s, ""); got != 0 {
		t.Fatalf("Usage = %d after invalid consumes", got)
	}
}

func testConsumeDecideError(t *testing.T, s engine.Store) {
	failing := func(int64) ([]byte, bool, error) { return []byte("x"), true, errBoom }
	_, err := s.Consume(context.Background(), engine.ConsumeRequest{N: 1, IdempotencyKey: "k", Now: t0}, failing)
	if err != errBoom { //nolint:errorlint // unchanged
		t.Fatalf("Consume returned %v, want errBoom unchanged", err)
	}
	if got := usage(t, s, ""); got != 0 {
		t.Fatalf("Usage = %d after decide error", got)
	}
	// The key was not remembered: the next call decides afresh.
	res := consume(t, s, engine.ConsumeRequest{N: 1, IdempotencyKey: "k"}, admitUpTo(5, 1))
	if res.Replayed || !res.Admitted || res.Used != 1 {
		t.Fatalf("Consume after decide error = %+v", res)
	}
}

func noDecide(t *testing.T) engine.ConsumeFunc {
	return func(int64) ([]byte, bool, error) {
		t.Error("decide called on a replay")
		return nil, true, nil
	}
}

func testIdempotency(t *testing.T, s engine.Store) {
	first := consume(t, s, engine.ConsumeRequest{N: 2, IdempotencyKey: "req-1"}, admitUpTo(10, 2))
	if !first.Admitted || first.Replayed || first.Used != 2 {
		t.Fatalf("first = %+v", first)
	}
	consume(t, s, engine.ConsumeRequest{N: 1}, admitUpTo(10, 1)) // used 3
	again := consume(t, s, engine.ConsumeRequest{N: 2, IdempotencyKey: "req-1", Now: t0.Add(time.Minute)}, noDecide(t))
	if !again.Replayed || !again.Admitted || again.Used != 2 || !bytes.Equal(again.Answer, first.Answer) {
		t.Fatalf("replay = %+v, want the first answer %+v with Replayed", again, first)
	}
	if got := usage(t, s, ""); got != 3 {
		t.Fatalf("Usage = %d, want 3 (the replay must not count)", got)
	}
	// Keys are global across counters.
	other := consume(t, s, engine.ConsumeRequest{Counter: "other", N: 1, IdempotencyKey: "req-1"}, noDecide(t))
	if !other.Replayed || !bytes.Equal(other.Answer, first.Answer) {
		t.Fatalf("key on another counter = %+v, want a replay", other)
	}
	if got := usage(t, s, "other"); got != 0 {
		t.Fatalf("Usage(other) = %d, want 0", got)
	}
}

func testIdempotencyRefused(t *testing.T, s engine.Store) {
	first := consume(t, s, engine.ConsumeRequest{N: 5, IdempotencyKey: "big"}, admitUpTo(3, 5))
	if first.Admitted || first.Used != 0 {
		t.Fatalf("first = %+v, want refused", first)
	}
	// Even a decide that would now admit does not run: the refusal stands.
	again := consume(t, s, engine.ConsumeRequest{N: 5, IdempotencyKey: "big"}, noDecide(t))
	if !again.Replayed || again.Admitted || !bytes.Equal(again.Answer, first.Answer) {
		t.Fatalf("replay = %+v, want the first refusal", again)
	}
	if got := usage(t, s, ""); got != 0 {
		t.Fatalf("Usage = %d, want 0", got)
	}
}

func testIdempotencyConcurrent(t *testing.T, s engine.Store) {
	const workers = 16
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		fresh    int
		answers  = map[string]int{}
		ctx      = context.Background()
		req      = engine.ConsumeRequest{N: 1, IdempotencyKey: "same", Now: t0}
		decision = admitUpTo(100, 1)
	)
	for range workers {
		wg.Go(func() {
			res, err := s.Consume(ctx, req, decision)
			if err != nil {
				t.Errorf("Consume: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if !res.Replayed {
				fresh++
			}
			answers[string(res.Answer)]++
		})
	}
	wg.Wait()
	if fresh != 1 || len(answers) != 1 {
		t.Fatalf("%d non-replayed answers, answers %v; want exactly one first answer", fresh, answers)
	}
	if got := usage(t, s, ""); got != 1 {
		t.Fatalf("Usage = %d, want 1", got)
	}
}

func testIdempotencyKeep(t *testing.T, s engine.Store) {
	const keep = 4 // the limits the store was opened with
	key := func(i int) string { return fmt.Sprintf("k%02d", i) }
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	for i := range 2*keep + 1 {
		consume(t, s, engine.ConsumeRequest{N: 1, IdempotencyKey: key(i), Now: at(i)}, admitUpTo(1000, 1))
	}
	// The newest keep keys always replay.
	for i := keep + 1; i <= 2*keep; i++ {
		res := consume(t, s, engine.ConsumeRequest{N: 1, IdempotencyKey: key(i), Now: at(2 * keep)}, noDecide(t))
		if !res.Replayed {
			t.Fatalf("key %s (one of the newest %d) did not replay", key(i), keep)
		}
	}
	// The oldest, with 2×keep newer keys, is forgotten and counts again.
	res := consume(t, s, engine.ConsumeRequest{N: 1, IdempotencyKey: key(0), Now: at(2 * keep)}, admitUpTo(1000, 1))
	if res.Replayed || !res.Admitted || res.Used != 2*keep+2 {
		t.Fatalf("oldest key after %d newer = %+v, want forgotten and counted", 2*keep, res)
	}
}

func testIdempotencyTTL(t *testing.T, s engine.Store) {
	// Opened with IdempotencyTTL = 1h.
	consume(t, s, engine.ConsumeRequest{N: 1, IdempotencyKey: "old", Now: t0}, admitUpTo(1000, 1))
	res := consume(t, s, engine.ConsumeRequest{N: 1, IdempotencyKey: "old", Now: t0.Add(59 * time.Minute)}, noDecide(t))
	if !res.Replayed {
		t.Fatalf("key within TTL did not replay: %+v", res)
	}
	res = consume(t, s, engine.ConsumeRequest{N: 1, IdempotencyKey: "old", Now: t0.Add(61 * time.Minute)}, admitUpTo(1000, 1))
	if res.Replayed || res.Used != 2 {
		t.Fatalf("key past TTL = %+v, want forgotten and counted", res)
	}
	// The new answer is the one remembered from now on.
	res = consume(t, s, engine.ConsumeRequest{N: 1, IdempotencyKey: "old", Now: t0.Add(90 * time.Minute)}, noDecide(t))
	if !res.Replayed || res.Used != 2 {
		t.Fatalf("re-recorded key = %+v, want replay of the second answer", res)
	}
}

func testConcurrentConsume(t *testing.T, s engine.Store) {
	const workers, limit = 64, 40
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		admitted int
		ctx      = context.Background()
	)
	for w := range workers {
		wg.Go(func() {
			req := engine.ConsumeRequest{Counter: "shared", N: 1, IdempotencyKey: fmt.Sprint("w", w), Now: t0}
			res, err := s.Consume(ctx, req, admitUpTo(limit, 1))
			if err != nil {
				t.Errorf("Consume: %v", err)
				return
			}
			if res.Admitted {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if admitted != limit {
		t.Fatalf("%d of %d admitted with limit %d", admitted, workers, limit)
	}
	if got := usage(t, s, "shared"); got != limit {
		t.Fatalf("Usage = %d, want exactly %d", got, limit)
	}
}

func testCountersIndependent(t *testing.T, s engine.Store) {
	if got := usage(t, s, "never-used"); got != 0 {
		t.Fatalf("Usage of unknown counter = %d", got)
	}
	consume(t, s, engine.ConsumeRequest{Counter: "a", N: 3}, admitUpTo(100, 3))
	consume(t, s, engine.ConsumeRequest{Counter: "b", N: 5}, admitUpTo(100, 5))
	consume(t, s, engine.ConsumeRequest{Counter: "a", N: 1}, admitUpTo(100, 1))
	res := consume(t, s, engine.ConsumeRequest{Counter: "b", N: 1}, admitUpTo(5, 1))
	if res.Admitted || res.Used != 5 {
		t.Fatalf("b at its limit = %+v", res)
	}
	for c, want := range map[string]int64{"a": 4, "b": 5, "": 0, "never-used": 0} {
		if got := usage(t, s, c); got != want {
			t.Errorf("Usage(%q) = %d, want %d", c, got, want)
		}
	}
}

func testEvents(t *testing.T, s engine.Store) {
	ctx := context.Background()
	for i := range 5 {
		ev := engine.Event{At: t0.Add(time.Duration(i) * time.Minute), Kind: engine.EventQuotaRefused, Message: fmt.Sprint("e", i)}
		if err := s.AppendEvent(ctx, ev); err != nil {
			t.Fatalf("AppendEvent: %v", err)
		}
	}
	evs := events(t, s, 3)
	if got := fmt.Sprint(messages(evs)); got != "[e4 e3 e2]" {
		t.Fatalf("Events(3) = %s, want [e4 e3 e2]", got)
	}
	checkNewestFirst(t, evs)
	if !evs[0].At.Equal(t0.Add(4*time.Minute)) || evs[0].Kind != engine.EventQuotaRefused {
		t.Fatalf("event not kept as written: %+v", evs[0])
	}
	if got := fmt.Sprint(messages(events(t, s, 0))); got != "[e4 e3 e2 e1 e0]" {
		t.Fatalf("Events(0) = %s", got)
	}
	if got := len(events(t, s, 100)); got != 5 {
		t.Fatalf("Events(100) returned %d", got)
	}
	// Update events interleave with appended ones in one sequence.
	update(t, s, func(*engine.Record) []engine.Event {
		return []engine.Event{{At: t0, Kind: engine.EventCleared, Message: "u"}}
	})
	if err := s.AppendEvent(ctx, engine.Event{At: t0, Kind: engine.EventCleared, Message: "a"}); err != nil {
		t.Fatal(err)
	}
	evs = events(t, s, 2)
	if got := fmt.Sprint(messages(evs)); got != "[a u]" {
		t.Fatalf("Events(2) = %s, want [a u]", got)
	}
	checkNewestFirst(t, evs)
}

func testEventLogBounded(t *testing.T, s engine.Store) {
	// Opened with EventLogCap = 5.
	ctx := context.Background()
	for i := range 7 {
		if err := s.AppendEvent(ctx, engine.Event{At: t0, Kind: engine.EventHeartbeatOK, Message: fmt.Sprint("e", i)}); err != nil {
			t.Fatal(err)
		}
	}
	update(t, s, func(*engine.Record) []engine.Event {
		return []engine.Event{{At: t0, Message: "e7"}, {At: t0, Message: "e8"}}
	})
	evs := events(t, s, 0)
	if got := fmt.Sprint(messages(evs)); got != "[e8 e7 e6 e5 e4]" {
		t.Fatalf("bounded log = %s, want the newest 5", got)
	}
	checkNewestFirst(t, evs)
}

// call is the outcome of one method call.
type call struct {
	op  string
	err error
}

// everyCall calls each method of s once, in order, with harmless
// arguments, and gives each one's error; updated tells whether Update ran
// its fn.
func everyCall(ctx context.Context, s engine.Store) (calls []call, updated bool) {
	add := func(op string, err error) { calls = append(calls, call{op, err}) }
	_, err := s.Load(ctx)
	add("Load", err)
	_, err = s.RecordGeneration(ctx)
	add("RecordGeneration", err)
	add("Update", s.Update(ctx, func(*engine.Record) ([]engine.Event, error) { updated = true; return nil, nil }))
	_, err = s.Consume(ctx, engine.ConsumeRequest{N: 1, Now: t0}, admitUpTo(10, 1))
	add("Consume", err)
	_, err = s.Usage(ctx, "")
	add("Usage", err)
	add("AppendEvent", s.AppendEvent(ctx, engine.Event{At: t0}))
	_, err = s.Events(ctx, 1)
	add("Events", err)
	return calls, updated
}

func testClosed(t *testing.T, s engine.Store) {
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	calls, _ := everyCall(context.Background(), s)
	for _, c := range calls {
		if !errors.Is(c.err, engine.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", c.op, c.err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func testCancelled(t *testing.T, s engine.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls, called := everyCall(ctx, s)
	for _, c := range calls {
		if !errors.Is(c.err, context.Canceled) {
			t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", c.op, c.err)
		}
	}
	if called {
		t.Errorf("Update ran fn with a cancelled context")
	}
	if _, err := s.Load(context.Background()); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("cancelled calls wrote something: Load err = %v", err)
	}
	if got := usage(t, s, ""); got != 0 {
		t.Errorf("cancelled Consume counted: %d", got)
	}
}

// RunPersistent checks that what one store wrote is there after Close and a
// reopen on the same directory: the record, events (with sequence numbers
// continuing upwards), counters and idempotency keys.
func RunPersistent(t *testing.T, open DirOpener) {
	t.Run("Reopen", func(t *testing.T) {
		ctx := context.Background()
		dir := t.TempDir()
		s := open(t, dir)
		update(t, s, func(r *engine.Record) []engine.Event {
			*r = FullRecord()
			return []engine.Event{{At: t0, Kind: engine.EventActivated, Message: "activated"}}
		})
		first := consume(t, s, engine.ConsumeRequest{N: 3, IdempotencyKey: "persist"}, admitUpTo(10, 3))
		if err := s.AppendEvent(ctx, engine.Event{At: t0, Kind: engine.EventQuotaRefused, Message: "refused"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}

		s = open(t, dir)
		defer func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
		jsonEqual(t, load(t, s), FullRecord())
		if got := usage(t, s, ""); got != 3 {
			t.Fatalf("Usage after reopen = %d, want 3", got)
		}
		res := consume(t, s, engine.ConsumeRequest{N: 3, IdempotencyKey: "persist"}, noDecide(t))
		if !res.Replayed || !bytes.Equal(res.Answer, first.Answer) {
			t.Fatalf("idempotency key lost across reopen: %+v", res)
		}
		before := events(t, s, 0)
		if got := fmt.Sprint(messages(before)); got != "[refused activated]" {
			t.Fatalf("events after reopen = %s", got)
		}
		if err := s.AppendEvent(ctx, engine.Event{At: t0, Message: "after"}); err != nil {
			t.Fatal(err)
		}
		after := events(t, s, 0)
		if len(after) != 3 || after[0].Message != "after" || after[0].Seq <= before[0].Seq {
			t.Fatalf("sequence did not continue after reopen: %+v", after)
		}
	})
}
