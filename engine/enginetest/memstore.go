package enginetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/licensehost/licensehost/engine"
)

var _ engine.Store = (*MemStore)(nil)

// MemStore is an in-memory engine.Store for tests. It passes the same
// conformance suite (engine/storetest) as the Badger store: every method is
// serialised by one mutex, the record is kept as JSON so callers can never
// alias what is stored, and the event log and idempotency keys are bounded by
// engine.StoreLimits.
//
// Fail, when set, is called at the start of every method with the method's
// name ("Load", "Update", "RecordGeneration", "Consume", "Usage", "AppendEvent", "Events",
// "Close", and the engine.FeatureStore methods); a non-nil error is returned as is and nothing else happens. Use it
// to simulate a failing disk.
type MemStore struct {
	Fail func(op string) error

	mu       sync.Mutex
	limits   engine.StoreLimits
	closed   bool
	record   []byte // JSON of the record; nil when none was written
	gen      uint64 // the record's write generation: Update adds one
	events   []engine.Event
	seq      uint64
	counters map[string]int64
	idem     map[string]memIdem
	idemFIFO []string    // idempotency keys, oldest first
	feat     memFeatures // feature licensing state (memstore_features.go)
}

type memIdem struct {
	answer   []byte
	used     int64
	admitted bool
	at       time.Time
}

// NewMemStore returns an empty MemStore with the default limits.
func NewMemStore() *MemStore { return NewMemStoreLimits(engine.StoreLimits{}) }

// NewMemStoreLimits returns an empty MemStore with the given limits (zero
// fields take the engine.Default* values).
func NewMemStoreLimits(l engine.StoreLimits) *MemStore {
	return &MemStore{
		limits:   l.WithDefaults(),
		counters: map[string]int64{},
		idem:     map[string]memIdem{},
	}
}

// begin locks the store and checks Fail, ctx and Close. On success the caller
// must unlock s.mu.
func (s *MemStore) begin(ctx context.Context, op string) error {
	if s.Fail != nil {
		if err := s.Fail(op); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("memstore %s: %w", op, engine.ErrClosed)
	}
	return nil
}

// Load implements engine.Store.
func (s *MemStore) Load(ctx context.Context) (engine.Record, error) {
	if err := s.begin(ctx, "Load"); err != nil {
		return engine.Record{}, err
	}
	defer s.mu.Unlock()
	if s.record == nil {
		return engine.Record{}, engine.ErrNotFound
	}
	return decodeRecord(s.record)
}

// Update implements engine.Store.
func (s *MemStore) Update(ctx context.Context, fn func(*engine.Record) ([]engine.Event, error)) error {
	if err := s.begin(ctx, "Update"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	rec := engine.Record{SchemaVersion: engine.SchemaVersion}
	if s.record != nil {
		var err error
		if rec, err = decodeRecord(s.record); err != nil {
			return err
		}
	}
	evs, err := fn(&rec)
	if err != nil {
		return err
	}
	rec.SchemaVersion = engine.SchemaVersion
	raw, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("memstore: encode record: %w", err)
	}
	s.record = raw
	s.gen++
	for _, ev := range evs {
		s.appendLocked(ev)
	}
	return nil
}

// RecordGeneration implements engine.Store.
func (s *MemStore) RecordGeneration(ctx context.Context) (uint64, error) {
	if err := s.begin(ctx, "RecordGeneration"); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	return s.gen, nil
}

func decodeRecord(raw []byte) (engine.Record, error) {
	var rec engine.Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return engine.Record{}, fmt.Errorf("memstore: decode record: %w", err)
	}
	if rec.SchemaVersion > engine.SchemaVersion {
		return engine.Record{}, fmt.Errorf("memstore: record schema %d, this build reads up to %d: %w",
			rec.SchemaVersion, engine.SchemaVersion, engine.ErrSchemaTooNew)
	}
	return rec, nil
}

// Consume implements engine.Store.
func (s *MemStore) Consume(ctx context.Context, req engine.ConsumeRequest, decide engine.ConsumeFunc) (engine.ConsumeResult, error) {
	if req.N <= 0 {
		return engine.ConsumeResult{}, fmt.Errorf("consume %d items: %w", req.N, engine.ErrInvalidRequest)
	}
	if err := s.begin(ctx, "Consume"); err != nil {
		return engine.ConsumeResult{}, err
	}
	defer s.mu.Unlock()
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	if req.IdempotencyKey != "" {
		s.trimIdemLocked(now)
		if e, ok := s.idem[req.IdempotencyKey]; ok {
			return engine.ConsumeResult{Answer: bytes.Clone(e.answer), Used: e.used, Admitted: e.admitted, Replayed: true}, nil
		}
	}
	used := s.counters[req.Counter]
	answer, admit, err := decide(used)
	if err != nil {
		return engine.ConsumeResult{}, err
	}
	if admit {
		if used > math.MaxInt64-req.N {
			return engine.ConsumeResult{}, fmt.Errorf("consume %d items: counter %q would overflow: %w", req.N, req.Counter, engine.ErrInvalidRequest)
		}
		used += req.N
		s.counters[req.Counter] = used
	}
	if req.IdempotencyKey != "" {
		s.idem[req.IdempotencyKey] = memIdem{answer: bytes.Clone(answer), used: used, admitted: admit, at: now}
		s.idemFIFO = append(s.idemFIFO, req.IdempotencyKey)
		s.trimIdemLocked(now)
	}
	return engine.ConsumeResult{Answer: bytes.Clone(answer), Used: used, Admitted: admit}, nil
}

// trimIdemLocked forgets keys beyond the count limit and keys past the TTL.
func (s *MemStore) trimIdemLocked(now time.Time) {
	drop := 0
	for drop < len(s.idemFIFO) {
		k := s.idemFIFO[drop]
		if len(s.idemFIFO)-drop <= s.limits.IdempotencyKeep && now.Sub(s.idem[k].at) < s.limits.IdempotencyTTL {
			break
		}
		delete(s.idem, k)
		drop++
	}
	if drop > 0 {
		s.idemFIFO = slices.Delete(s.idemFIFO, 0, drop)
	}
}

// Usage implements engine.Store.
func (s *MemStore) Usage(ctx context.Context, counter string) (int64, error) {
	if err := s.begin(ctx, "Usage"); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	return s.counters[counter], nil
}

// AppendEvent implements engine.Store.
func (s *MemStore) AppendEvent(ctx context.Context, ev engine.Event) error {
	if err := s.begin(ctx, "AppendEvent"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.appendLocked(ev)
	return nil
}

func (s *MemStore) appendLocked(ev engine.Event) {
	s.seq++
	ev.Seq = s.seq
	s.events = append(s.events, ev)
	if over := len(s.events) - s.limits.EventLogCap; over > 0 {
		s.events = slices.Delete(s.events, 0, over)
	}
}

// Events implements engine.Store: up to limit events, newest first; limit ≤ 0
// means every retained event.
func (s *MemStore) Events(ctx context.Context, limit int) ([]engine.Event, error) {
	if err := s.begin(ctx, "Events"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	n := len(s.events)
	if limit > 0 && limit < n {
		n = limit
	}
	out := make([]engine.Event, 0, n)
	for i := len(s.events) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, s.events[i])
	}
	return out, nil
}

// Close implements engine.Store. Every later call fails with engine.ErrClosed;
// closing twice is not an error.
func (s *MemStore) Close() error {
	if s.Fail != nil {
		if err := s.Fail("Close"); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}
