package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
)

// FeatureOpener returns a new, empty store that also keeps feature licensing
// state. The suite closes it.
type FeatureOpener func(t *testing.T) FeatureStore

// FeatureStore is a Store that is also an engine.FeatureStore.
type FeatureStore interface {
	engine.Store
	engine.FeatureStore
}

// RunFeatures is the conformance suite of engine.FeatureStore
// (docs/features.md). Behaviour it pins down beyond the doc comments:
//   - the pre-authorization start is per product, the supersession is
//     installation-wide, and neither is touched by record updates (clear);
//   - concurrent StartPreauth calls agree on one start;
//   - an invalid PutGrants stores nothing, not even a supersession;
//   - GrantsGeneration changes with every PutGrants and DeleteGrants, and
//     no read or pre-authorization write changes it;
//   - after Close every method fails with engine.ErrClosed; a cancelled
//     context fails every method with the context's error.
func RunFeatures(t *testing.T, open FeatureOpener) {
	fresh := func(t *testing.T) FeatureStore {
		t.Helper()
		s := open(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	t.Run("PreauthStartsOnce", func(t *testing.T) { testPreauthStartsOnce(t, fresh(t)) })
	t.Run("PreauthPerProduct", func(t *testing.T) { testPreauthPerProduct(t, fresh(t)) })
	t.Run("PreauthConcurrentStart", func(t *testing.T) { testPreauthConcurrent(t, fresh(t)) })
	t.Run("SupersedeFirstStays", func(t *testing.T) { testSupersede(t, fresh(t)) })
	t.Run("ClearKeepsFeatureState", func(t *testing.T) { testClearKeeps(t, fresh(t)) })
	t.Run("Grants", func(t *testing.T) { testGrants(t, fresh(t)) })
	t.Run("GrantsInvalid", func(t *testing.T) { testGrantsInvalid(t, fresh(t)) })
	t.Run("GrantsGeneration", func(t *testing.T) { testGrantsGeneration(t, fresh(t)) })
	t.Run("FeaturesClosed", func(t *testing.T) { testFeaturesClosed(t, open(t)) })
	t.Run("FeaturesCancelled", func(t *testing.T) { testFeaturesCancelled(t, fresh(t)) })
}

// FeatureDirOpener opens a feature store on dir, which persists across
// calls with the same dir.
type FeatureDirOpener func(t *testing.T, dir string) FeatureStore

// RunFeaturesPersistent checks that the pre-authorization start, the
// supersession and stored grants survive Close and a reopen.
func RunFeaturesPersistent(t *testing.T, open FeatureDirOpener) {
	t.Run("FeaturesReopen", func(t *testing.T) {
		ctx := context.Background()
		dir := t.TempDir()
		s := open(t, dir)
		if _, err := s.StartPreauth(ctx, "P", t0); err != nil {
			t.Fatal(err)
		}
		gs := sampleGrants("activation:S1", engine.KindFormal)
		if err := s.PutGrants(ctx, "activation:S1", gs, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open(t, dir)
		defer func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
		st, err := s.StartPreauth(ctx, "P", t0.Add(48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if !st.StartedAt.Equal(t0) || !st.SupersededAt.Equal(t0.Add(time.Hour)) || st.SupersededBy != "activation:S1" {
			t.Fatalf("after reopen: %+v, want start %v superseded at %v by activation:S1", st, t0, t0.Add(time.Hour))
		}
		jsonEqual(t, grants(t, s), gs)
	})
}

func sampleGrants(source string, kind engine.GrantKind) []engine.Grant {
	return []engine.Grant{
		{Feature: "data.cdc", Kind: kind, Source: source, NotBefore: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour)},
		{Feature: "data.source", Kind: kind, Source: source},
	}
}

func grants(t *testing.T, s engine.FeatureStore) []engine.Grant {
	t.Helper()
	gs, err := s.Grants(context.Background())
	if err != nil {
		t.Fatalf("Grants: %v", err)
	}
	if gs == nil {
		t.Fatalf("Grants returned nil, want an empty slice")
	}
	return gs
}

func preauth(t *testing.T, s engine.FeatureStore, product string) engine.PreauthState {
	t.Helper()
	st, err := s.Preauth(context.Background(), product)
	if err != nil {
		t.Fatalf("Preauth(%q): %v", product, err)
	}
	return st
}

func testPreauthStartsOnce(t *testing.T, s FeatureStore) {
	ctx := context.Background()
	if st := preauth(t, s, "P"); !st.StartedAt.IsZero() || st.Superseded() {
		t.Fatalf("fresh store: %+v, want nothing started", st)
	}
	st, err := s.StartPreauth(ctx, "P", t0)
	if err != nil || !st.StartedAt.Equal(t0) {
		t.Fatalf("StartPreauth = %+v, %v; want start %v", st, err, t0)
	}
	for _, later := range []time.Time{t0.Add(time.Hour), t0.Add(-time.Hour), {}} {
		st, err := s.StartPreauth(ctx, "P", later)
		if err != nil || !st.StartedAt.Equal(t0) {
			t.Fatalf("StartPreauth(%v) again = %+v, %v; want the first start %v kept", later, st, err, t0)
		}
	}
	if st := preauth(t, s, "P"); !st.StartedAt.Equal(t0) {
		t.Fatalf("Preauth = %+v", st)
	}
}

func testPreauthPerProduct(t *testing.T, s FeatureStore) {
	ctx := context.Background()
	if _, err := s.StartPreauth(ctx, "集成平台", t0); err != nil {
		t.Fatal(err)
	}
	if st := preauth(t, s, "other"); !st.StartedAt.IsZero() {
		t.Fatalf("another product started too: %+v", st)
	}
	if _, err := s.StartPreauth(ctx, "other", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if a, b := preauth(t, s, "集成平台"), preauth(t, s, "other"); !a.StartedAt.Equal(t0) || !b.StartedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("starts = %v, %v", a.StartedAt, b.StartedAt)
	}
	long := string(make([]byte, engine.MaxProductNameBytes+1))
	if _, err := s.StartPreauth(ctx, long, t0); !errors.Is(err, engine.ErrInvalidRequest) {
		t.Fatalf("StartPreauth(too long) err = %v, want ErrInvalidRequest", err)
	}
}

func testPreauthConcurrent(t *testing.T, s FeatureStore) {
	ctx := context.Background()
	const n = 16
	starts := make([]time.Time, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			st, err := s.StartPreauth(ctx, "P", t0.Add(time.Duration(i)*time.Minute))
			if err != nil {
				t.Errorf("StartPreauth: %v", err)
			}
			starts[i] = st.StartedAt
		})
	}
	wg.Wait()
	for i, st := range starts {
		if !st.Equal(starts[0]) {
			t.Fatalf("call %d saw start %v, call 0 saw %v: concurrent starts disagree", i, st, starts[0])
		}
	}
	if got := preauth(t, s, "P").StartedAt; !got.Equal(starts[0]) {
		t.Fatalf("stored start %v, callers saw %v", got, starts[0])
	}
}

func testSupersede(t *testing.T, s FeatureStore) {
	ctx := context.Background()
	if _, err := s.StartPreauth(ctx, "P", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SupersedePreauth(ctx, t0.Add(time.Hour), engine.SourceOnline); err != nil {
		t.Fatal(err)
	}
	if err := s.SupersedePreauth(ctx, t0.Add(2*time.Hour), "activation:X"); err != nil {
		t.Fatal(err)
	}
	// A temporary grant put later does not move the first supersession.
	if err := s.PutGrants(ctx, "activation:T", sampleGrants("activation:T", engine.KindTemporary), t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"P", "Q"} {
		st := preauth(t, s, p)
		if !st.SupersededAt.Equal(t0.Add(time.Hour)) || st.SupersededBy != engine.SourceOnline {
			t.Fatalf("Preauth(%s) = %+v, want the first supersession (online at %v), installation-wide", p, st, t0.Add(time.Hour))
		}
	}
	if st := preauth(t, s, "P"); !st.StartedAt.Equal(t0) {
		t.Fatalf("supersession moved the start: %+v", st)
	}
}

func testClearKeeps(t *testing.T, s FeatureStore) {
	ctx := context.Background()
	if _, err := s.StartPreauth(ctx, "P", t0); err != nil {
		t.Fatal(err)
	}
	gs := sampleGrants("activation:A", engine.KindFormal)
	if err := s.PutGrants(ctx, "activation:A", gs, t0); err != nil {
		t.Fatal(err)
	}
	// What the engine's Clear does to the record.
	if err := s.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
		*r = engine.Record{SchemaVersion: engine.SchemaVersion}
		return []engine.Event{{At: t0, Kind: engine.EventCleared}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	st := preauth(t, s, "P")
	if !st.StartedAt.Equal(t0) || !st.Superseded() {
		t.Fatalf("after a record reset: %+v, want start and supersession kept", st)
	}
	jsonEqual(t, grants(t, s), gs)
}

func testGrants(t *testing.T, s FeatureStore) {
	ctx := context.Background()
	if gs := grants(t, s); len(gs) != 0 {
		t.Fatalf("fresh store grants = %+v", gs)
	}
	b := sampleGrants("activation:B", engine.KindTemporary)
	a := sampleGrants("activation:A", engine.KindFormal)
	if err := s.PutGrants(ctx, "activation:B", b, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.PutGrants(ctx, "activation:A", a, t0); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, grants(t, s), append(append([]engine.Grant{}, a...), b...))

	// Put replaces a source's grants, and does not alias the caller's slice.
	a2 := []engine.Grant{a[0]}
	if err := s.PutGrants(ctx, "activation:A", a2, t0); err != nil {
		t.Fatal(err)
	}
	a2[0].Feature = "mutated"
	jsonEqual(t, grants(t, s), append([]engine.Grant{a[0]}, b...))
	got := grants(t, s)
	got[0].Feature = "mutated.too"
	jsonEqual(t, grants(t, s), append([]engine.Grant{a[0]}, b...))

	if err := s.DeleteGrants(ctx, "activation:B"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGrants(ctx, "activation:none"); err != nil {
		t.Fatalf("DeleteGrants of an unknown source: %v", err)
	}
	jsonEqual(t, grants(t, s), []engine.Grant{a[0]})
	// Putting no grants leaves the source empty.
	if err := s.PutGrants(ctx, "activation:A", nil, t0); err != nil {
		t.Fatal(err)
	}
	if gs := grants(t, s); len(gs) != 0 {
		t.Fatalf("grants = %+v, want none", gs)
	}
	if !preauth(t, s, "P").Superseded() {
		t.Fatalf("deleting grants undid the supersession")
	}
}

func testGrantsInvalid(t *testing.T, s FeatureStore) {
	ctx := context.Background()
	good := engine.Grant{Feature: "data.cdc", Kind: engine.KindFormal, Source: "activation:A"}
	bad := map[string]struct {
		source string
		g      engine.Grant
	}{
		"empty source":       {"", good},
		"preauth source":     {engine.SourcePreauth, engine.Grant{Feature: "a", Kind: engine.KindFormal, Source: engine.SourcePreauth}},
		"source mismatch":    {"activation:B", good},
		"preauth kind":       {"activation:A", engine.Grant{Feature: "a", Kind: engine.KindPreauth, Source: "activation:A"}},
		"unknown kind":       {"activation:A", engine.Grant{Feature: "a", Kind: "gold", Source: "activation:A"}},
		"bad feature name":   {"activation:A", engine.Grant{Feature: "Data CDC", Kind: engine.KindFormal, Source: "activation:A"}},
		"empty feature name": {"activation:A", engine.Grant{Kind: engine.KindFormal, Source: "activation:A"}},
		"source with space":  {"activation: A", engine.Grant{Feature: "a", Kind: engine.KindFormal, Source: "activation: A"}},
		"window inverted":    {"activation:A", engine.Grant{Feature: "a", Kind: engine.KindFormal, Source: "activation:A", NotBefore: t0, ExpiresAt: t0.Add(-time.Second)}},
	}
	for name, b := range bad {
		err := s.PutGrants(ctx, b.source, []engine.Grant{good, b.g}, t0)
		if !errors.Is(err, engine.ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
	}
	many := make([]engine.Grant, engine.MaxGrantsPerSource+1)
	for i := range many {
		many[i] = engine.Grant{Feature: fmt.Sprintf("f%d", i), Kind: engine.KindFormal, Source: "activation:A"}
	}
	if err := s.PutGrants(ctx, "activation:A", many, t0); !errors.Is(err, engine.ErrInvalidRequest) {
		t.Errorf("too many grants: err = %v", err)
	}
	if gs := grants(t, s); len(gs) != 0 {
		t.Fatalf("refused puts stored %+v", gs)
	}
	if st := preauth(t, s, "P"); st.Superseded() {
		t.Fatalf("refused puts superseded pre-authorization: %+v", st)
	}
}

func grantsGeneration(t *testing.T, s engine.FeatureStore) uint64 {
	t.Helper()
	g, err := s.GrantsGeneration(context.Background())
	if err != nil {
		t.Fatalf("GrantsGeneration: %v", err)
	}
	return g
}

// testGrantsGeneration: each grant write moves the generation, after which
// Grants reads what it wrote; reads and pre-authorization writes do not.
func testGrantsGeneration(t *testing.T, s FeatureStore) {
	ctx := context.Background()
	g := grantsGeneration(t, s)
	still := func(op string) {
		t.Helper()
		if now := grantsGeneration(t, s); now != g {
			t.Fatalf("%s changed the grants generation: %d → %d", op, g, now)
		}
	}
	moved := func(op string, want int) {
		t.Helper()
		now := grantsGeneration(t, s)
		if now == g {
			t.Fatalf("%s wrote grants and left the generation at %d", op, g)
		}
		g = now
		if got := len(grants(t, s)); got != want {
			t.Fatalf("after %s: %d grants, want %d", op, got, want)
		}
	}
	grants(t, s)
	still("Grants")
	preauth(t, s, "P")
	if _, err := s.StartPreauth(ctx, "P", t0); err != nil {
		t.Fatal(err)
	}
	still("StartPreauth")
	if err := s.PutGrants(ctx, "activation:A", sampleGrants("activation:A", engine.KindTemporary), t0); err != nil {
		t.Fatal(err)
	}
	moved("PutGrants", len(sampleGrants("activation:A", engine.KindTemporary)))
	if err := s.PutGrants(ctx, "activation:A", nil, t0); err != nil {
		t.Fatal(err)
	}
	moved("PutGrants of none", 0)
	if err := s.PutGrants(ctx, "activation:B", sampleGrants("activation:B", engine.KindFormal), t0); err != nil {
		t.Fatal(err)
	}
	moved("PutGrants", len(sampleGrants("activation:B", engine.KindFormal)))
	if err := s.DeleteGrants(ctx, "activation:B"); err != nil {
		t.Fatal(err)
	}
	moved("DeleteGrants", 0)
}

func testFeaturesClosed(t *testing.T, s FeatureStore) {
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for op, err := range featureCalls(ctx, s) {
		if !errors.Is(err, engine.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", op, err)
		}
	}
}

func testFeaturesCancelled(t *testing.T, s FeatureStore) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for op, err := range featureCalls(ctx, s) {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", op, err)
		}
	}
	if st := preauth(t, s, "P"); !st.StartedAt.IsZero() || st.Superseded() {
		t.Fatalf("cancelled calls wrote: %+v", st)
	}
	if gs := grants(t, s); len(gs) != 0 {
		t.Fatalf("cancelled calls wrote grants: %+v", gs)
	}
}

func featureCalls(ctx context.Context, s engine.FeatureStore) map[string]error {
	out := map[string]error{}
	_, out["Preauth"] = s.Preauth(ctx, "P")
	_, out["StartPreauth"] = s.StartPreauth(ctx, "P", t0)
	out["SupersedePreauth"] = s.SupersedePreauth(ctx, t0, engine.SourceOnline)
	out["PutGrants"] = s.PutGrants(ctx, "activation:A", sampleGrants("activation:A", engine.KindFormal), t0)
	out["DeleteGrants"] = s.DeleteGrants(ctx, "activation:A")
	_, out["Grants"] = s.Grants(ctx)
	_, out["GrantsGeneration"] = s.GrantsGeneration(ctx)
	return out
}
