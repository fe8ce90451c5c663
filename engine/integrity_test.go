package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/internal/remote"
	"github.com/licensehost/licensehost/internal/remotetest"
)

// sealedEngine is an engine with an installation secret over store.
func sealedEngine(t *testing.T, store engine.Store, srv *remotetest.Server, clock engine.Clock, secret string, fresh bool) *engine.Engine {
	t.Helper()
	rc, err := remote.New(remote.Config{BaseURL: srv.URL(), TotalTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(engine.Options{Store: store, Remote: rc, Clock: clock, Config: engine.DefaultConfig(),
		MachineID: thisMachine, SealKey: []byte(secret), SealKeyNew: fresh})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func statusOf(t *testing.T, e *engine.Engine) engine.StatusView {
	t.Helper()
	v, err := e.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func hasEvent(t *testing.T, e *engine.Engine, kind engine.EventKind) bool {
	t.Helper()
	evs, err := e.Events(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Kind == kind {
			return true
		}
	}
	return false
}

// An edit behind the engine's back is tampered: community limits, an event
// once flagged, and a successful verification repairs it.
func TestSealDetectsEditAndSuccessRepairs(t *testing.T) {
	ctx := context.Background()
	srv := remotetest.New(t)
	srv.AddLicense(keyA, 1, map[string]any{"customField1": "500", "customField2": 100})
	store := enginetest.NewMemStore()
	clock := enginetest.NewClock(t0)
	e := sealedEngine(t, store, srv, clock, "secret-1", true)
	if _, err := e.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Activate(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	if why, err := e.CheckIntegrity(ctx); err != nil || why != "" {
		t.Fatalf("an intact record: %q %v", why, err)
	}
	if err := store.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
		r.LimitTotal = engine.Int64(900)
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	v := statusOf(t, e)
	if v.Evaluation.Status != engine.StatusTampered || v.Evaluation.IsSponsored || *v.Evaluation.Limits.Total != 200 || v.Record.Tampered == "" {
		t.Fatalf("edited record: %+v", v.Evaluation)
	}
	why, err := e.CheckIntegrity(ctx)
	if err != nil || why == "" || !hasEvent(t, e, engine.EventTampered) {
		t.Fatalf("CheckIntegrity: %q %v, event %v", why, err, hasEvent(t, e, engine.EventTampered))
	}
	// A failure does not launder it.
	srv.SetDown(true)
	if _, err := e.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if v := statusOf(t, e); v.Evaluation.Status != engine.StatusTampered {
		t.Fatalf("after a failed heartbeat: %s", v.Evaluation.Status)
	}
	srv.SetDown(false)
	if res, err := e.Heartbeat(ctx); err != nil || !res.Success {
		t.Fatalf("heartbeat: %+v %v", res, err)
	}
	if v := statusOf(t, e); v.Evaluation.Status != engine.StatusActive || *v.Evaluation.Limits.Total != 500 {
		t.Fatalf("after a successful heartbeat: %s %v", v.Evaluation.Status, v.Evaluation.Limits)
	}
}

// A record sealed under another secret (copied from another installation)
// is tampered; a record without a seal is an earlier version's only when
// the secret is new at this start.
func TestSealOtherSecretAndUpgrade(t *testing.T) {
	ctx := context.Background()
	srv := remotetest.New(t)
	srv.AddLicense(keyA, 1, map[string]any{"customField1": "500"})
	clock := enginetest.NewClock(t0)

	store := enginetest.NewMemStore()
	a := sealedEngine(t, store, srv, clock, "secret-A", true)
	if _, err := a.Activate(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	b := sealedEngine(t, store, srv, clock, "secret-B", false)
	if v := statusOf(t, b); v.Evaluation.Status != engine.StatusTampered {
		t.Fatalf("a record sealed elsewhere: %s", v.Evaluation.Status)
	}

	// An unsealed record (an earlier version) with a new secret: sealed.
	old := enginetest.NewMemStore()
	if err := old.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
		r.LicenseKey, r.MachineID, r.RemoteVerifiedAt = keyA, thisMachine, t0
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	up := sealedEngine(t, old, srv, clock, "secret-C", true)
	if why, err := up.CheckIntegrity(ctx); err != nil || why != "" {
		t.Fatalf("upgrade: %q %v", why, err)
	}
	if rec, _ := old.Load(ctx); rec.Seal == "" {
		t.Fatal("the upgraded record was not sealed")
	}
	// The same unsealed record with an existing secret is tampered.
	old2 := enginetest.NewMemStore()
	if err := old2.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
		r.LicenseKey, r.MachineID, r.RemoteVerifiedAt = keyA, thisMachine, t0
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	st := sealedEngine(t, old2, srv, clock, "secret-D", false)
	if why, err := st.CheckIntegrity(ctx); err != nil || why == "" {
		t.Fatalf("an unsealed record with an existing secret: %q %v", why, err)
	}
}
