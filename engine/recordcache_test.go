package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/internal/remotetest"
	"github.com/licensehost/licensehost/storage"
)

// The engine keeps the record it loaded while the store's record generation
// stays (recordcache.go). These tests fail when a kept record outlives a
// write that replaced it, hides an edit, or is shared with a caller.

// cacheStores are the two stores the kept record must stay coherent over:
// the in-memory one and real Badger in a temp dir.
func cacheStores(t *testing.T) map[string]func(t *testing.T) engine.Store {
	return map[string]func(t *testing.T) engine.Store{
		"memstore": func(*testing.T) engine.Store { return enginetest.NewMemStore() },
		"badger": func(t *testing.T) engine.Store {
			st, err := storage.Open(filepath.Join(t.TempDir(), "db"), storage.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
}

func checkLimits(t *testing.T, e *engine.Engine, total, batch int64, status engine.Status) {
	t.Helper()
	a, err := e.CheckQuota(context.Background(), engine.QuotaRequest{Batch: 1, Used: engine.Int64(0)})
	if err != nil {
		t.Fatal(err)
	}
	if a.Limits.Total == nil || *a.Limits.Total != total || a.Limits.Batch == nil || *a.Limits.Batch != batch {
		t.Fatalf("quota limits = %s / %s, want %d / %d", fmtLimit(a.Limits.Total), fmtLimit(a.Limits.Batch), total, batch)
	}
	if v := statusOf(t, e); v.Evaluation.Status != status {
		t.Fatalf("status = %s (%s), want %s", v.Evaluation.Status, v.Record.Tampered, status)
	}
}

func fmtLimit(p *int64) string {
	if p == nil {
		return "unlimited"
	}
	return fmt.Sprint(*p)
}

// Two engines over one store (the same data directory on new hardware, or
// the CLI's engine beside the daemon's): what one writes, the other reads at
// its next answer, though it had the record before.
func TestKeptRecordFollowsAnotherEnginesWrites(t *testing.T) {
	for name, open := range cacheStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			srv := remotetest.New(t)
			srv.AddLicense(keyA, 1, map[string]any{"customField1": "500", "customField2": 100})
			store := open(t)
			clock := enginetest.NewClock(t0)
			a := sealedEngine(t, store, srv, clock, "secret-1", true)
			b := sealedEngine(t, store, srv, clock, "secret-1", false)
			if _, err := a.CheckIntegrity(ctx); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the second answer comes from the kept record
				checkLimits(t, a, engine.DefaultCommunityTotal, engine.DefaultCommunityBatch, engine.StatusCommunity)
			}
			if res, err := b.Activate(ctx, keyA); err != nil || !res.Success {
				t.Fatalf("activate through b: %+v %v", res, err)
			}
			checkLimits(t, a, 500, 100, engine.StatusActive)
			if _, err := b.Clear(ctx); err != nil {
				t.Fatal(err)
			}
			checkLimits(t, a, engine.DefaultCommunityTotal, engine.DefaultCommunityBatch, engine.StatusCommunity)
			if _, err := a.Activate(ctx, keyA); err != nil {
				t.Fatal(err)
			}
			checkLimits(t, b, 500, 100, engine.StatusActive)
		})
	}
}

// An edit through the store while the engine keeps the record — anything
// that writes the record but the engine's own sealed update — is caught at
// the next answer.
func TestKeptRecordSeesAnEditThroughTheStore(t *testing.T) {
	for name, open := range cacheStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			srv := remotetest.New(t)
			srv.AddLicense(keyA, 1, map[string]any{"customField1": "500", "customField2": 100})
			store := open(t)
			e := sealedEngine(t, store, srv, enginetest.NewClock(t0), "secret-1", true)
			if _, err := e.CheckIntegrity(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Activate(ctx, keyA); err != nil {
				t.Fatal(err)
			}
			checkLimits(t, e, 500, 100, engine.StatusActive)
			if err := store.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
				r.LimitTotal = engine.Int64(900)
				return nil, nil
			}); err != nil {
				t.Fatal(err)
			}
			checkLimits(t, e, engine.DefaultCommunityTotal, engine.DefaultCommunityBatch, engine.StatusTampered)
		})
	}
}

// The record is edited in the data directory while the host is down: the
// next start decodes and checks it afresh (nothing is kept across a
// restart).
func TestKeptRecordEditedWhileDown(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "db")
	srv := remotetest.New(t)
	srv.AddLicense(keyA, 1, map[string]any{"customField1": "500", "customField2": 100})
	clock := enginetest.NewClock(t0)
	open := func() *storage.Store {
		st, err := storage.Open(dir, storage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	e := sealedEngine(t, st, srv, clock, "secret-1", true)
	if _, err := e.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Activate(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	checkLimits(t, e, 500, 100, engine.StatusActive)
	st.Close()

	st = open() // the administrator's edit, host down
	if err := st.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
		r.LimitBatch = engine.Int64(1000)
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st = open()
	defer st.Close()
	e = sealedEngine(t, st, srv, clock, "secret-1", false)
	if why, err := e.CheckIntegrity(ctx); err != nil || why == "" {
		t.Fatalf("CheckIntegrity after an edit while down: %q %v", why, err)
	}
	checkLimits(t, e, engine.DefaultCommunityTotal, engine.DefaultCommunityBatch, engine.StatusTampered)
}

// What a caller does to the record it got never reaches the kept one.
func TestKeptRecordNotShared(t *testing.T) {
	ctx := context.Background()
	srv := remotetest.New(t)
	srv.AddLicense(keyA, 1, map[string]any{"customField1": "500", "customField2": 100})
	e := sealedEngine(t, enginetest.NewMemStore(), srv, enginetest.NewClock(t0), "secret-1", true)
	if _, err := e.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Activate(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	v := statusOf(t, e)
	want := string(v.Record.License)
	for i := range v.Record.License {
		v.Record.License[i] = 'x'
	}
	*v.Record.LimitTotal, *v.Record.LimitBatch = 1, 1
	v.Record.Signals = nil
	checkLimits(t, e, 500, 100, engine.StatusActive)
	if got := string(statusOf(t, e).Record.License); got != want {
		t.Fatalf("license after a caller scribbled on its copy: %s", got)
	}
}

// Record.clone shares no memory with the record, whatever field is added
// to Record: every field is filled by reflection, the clone's reachable
// memory overwritten, and the original must not change.
func TestRecordCloneSharesNothing(t *testing.T) {
	var orig, want engine.Record
	fill(reflect.ValueOf(&orig).Elem(), 1)
	fill(reflect.ValueOf(&want).Elem(), 1)
	c := engine.CloneRecord(orig)
	if !reflect.DeepEqual(c, orig) {
		t.Fatalf("clone differs:\n%+v\n%+v", c, orig)
	}
	fill(reflect.ValueOf(&c).Elem(), 2)
	if !reflect.DeepEqual(orig, want) {
		t.Fatalf("writing through the clone changed the original:\n%+v", orig)
	}
}

// fill sets every field reachable from v to a value derived from n, writing
// into existing pointers, slices and maps rather than replacing them.
func fill(v reflect.Value, n int) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(t0.Add(time.Duration(n) * time.Hour)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n)
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem(), n)
	case reflect.Slice:
		if v.IsNil() {
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		}
		for i := range v.Len() {
			fill(v.Index(i), n)
		}
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, 0)
		fill(e, n)
		v.SetMapIndex(k, e)
	case reflect.String:
		v.SetString(string(rune('a' + n)))
	case reflect.Bool:
		v.SetBool(n%2 == 1)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(n))
	case reflect.Uint8, reflect.Uint64:
		v.SetUint(uint64(n))
	default:
		panic("fill: add a case for " + v.Kind().String())
	}
}

// inputPolicy records the input of every decision.
type inputPolicy struct {
	mu  sync.Mutex
	ins []engine.QuotaInput
}

func (p *inputPolicy) Decide(_ context.Context, in engine.QuotaInput) (engine.QuotaDecision, error) {
	p.mu.Lock()
	p.ins = append(p.ins, in)
	p.mu.Unlock()
	return engine.DecideBuiltin(in), nil
}

func (p *inputPolicy) Close(context.Context) error { return nil }

func (p *inputPolicy) last() engine.QuotaInput {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ins[len(p.ins)-1]
}

// A policy sees the custom fields of the license that stands at each
// request: the engine remembers the last license's fields, and a new
// license (another key, through another engine over the same store) brings
// its own.
func TestPolicySeesTheCurrentLicensesFields(t *testing.T) {
	ctx := context.Background()
	srv := remotetest.New(t)
	srv.AddLicense(keyA, 1, map[string]any{"licenseTypeName": "annual", "customField1": "500", "customField2": 100, "customField3": "gold"})
	srv.AddLicense(keyB, 1, map[string]any{"licenseTypeName": "lifetime", "customField1": 7, "customField2": "", "customField3": true})
	store := enginetest.NewMemStore()
	clock := enginetest.NewClock(t0)
	pol := &inputPolicy{}
	e, err := engine.New(engine.Options{Store: store, Remote: mustRemote(t, srv), Clock: clock, Config: engine.DefaultConfig(), MachineID: thisMachine, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	other := newEngineWith(t, store, mustRemote(t, srv), clock, engine.DefaultConfig(), thisMachine)
	check := func(typ, f1, f2, f3 string) {
		t.Helper()
		for range 2 {
			if _, err := e.CheckQuota(ctx, engine.QuotaRequest{Batch: 1, Used: engine.Int64(0)}); err != nil {
				t.Fatal(err)
			}
			in := pol.last()
			if in.LicenseType != typ || in.CustomField1 != f1 || in.CustomField2 != f2 || in.CustomField3 != f3 {
				t.Fatalf("policy input: type %q fields %q %q %q, want %q %q %q %q", in.LicenseType, in.CustomField1, in.CustomField2, in.CustomField3, typ, f1, f2, f3)
			}
		}
	}
	check("", "", "", "")
	if _, err := e.Activate(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	check("annual", "500", "100", "gold")
	if res, err := other.Activate(ctx, keyB); err != nil || !res.Success {
		t.Fatalf("activate B: %+v %v", res, err)
	}
	check("lifetime", "7", "", "true")
	if _, err := other.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	check("", "", "", "")
}
