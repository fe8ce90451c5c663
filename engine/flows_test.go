package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/licensehost/licensehost/internal/licapi"
	"sync"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/internal/remote"
	"github.com/licensehost/licensehost/internal/remotetest"
)

const (
	keyA = "LK-AAAA-1111-2222-3333"
	keyB = "LK-BBBB-4444-5555-6666"
)

// rig is an engine wired to a real loopback contract server through the real
// remote client, an in-memory store and a fake clock.
type rig struct {
	t     *testing.T
	srv   *remotetest.Server
	store *enginetest.MemStore
	clock *enginetest.Clock
	eng   *engine.Engine
	ctx   context.Context
}

func newRig(t *testing.T, cfg engine.Config) *rig {
	t.Helper()
	r, rc := newRigParts(t)
	r.eng = newEngineWith(t, r.store, rc, r.clock, cfg, thisMachine)
	srv := r.srv
	srv.AddLicense(keyA, 1, map[string]any{"licenseTypeName": "年度版", "customField1": "500", "customField2": 100, "expiresAt": "2126-01-01T00:00:00Z"})
	srv.AddLicense(keyB, 1, map[string]any{"licenseTypeName": "终生赞助版", "customField1": "", "customField2": remotetest.Missing})
	return r
}

// newRigParts starts a rig's contract server, its remote client, store and
// clock; the caller adds licenses and the engine.
func newRigParts(t *testing.T) (*rig, engine.RemoteClient) {
	t.Helper()
	srv := remotetest.New(t)
	rc, err := remote.New(remote.Config{BaseURL: srv.URL(), TotalTimeout: 2 * time.Second, ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, srv: srv, store: enginetest.NewMemStore(), clock: enginetest.NewClock(t0), ctx: context.Background()}, rc
}

func newEngineWith(t *testing.T, store engine.Store, rc engine.RemoteClient, clock engine.Clock, cfg engine.Config, machine string) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Options{Store: store, Remote: rc, Clock: clock, Config: cfg, MachineID: machine})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (r *rig) status() engine.StatusView {
	r.t.Helper()
	v, err := r.eng.Status(r.ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	return v
}

func (r *rig) activate(key string) engine.ActionResult {
	r.t.Helper()
	res, err := r.eng.Activate(r.ctx, key)
	if err != nil {
		r.t.Fatalf("activate: %v", err)
	}
	return res
}

func (r *rig) heartbeat() engine.ActionResult {
	r.t.Helper()
	res, err := r.eng.Heartbeat(r.ctx)
	if err != nil {
		r.t.Fatalf("heartbeat: %v", err)
	}
	return res
}

func TestActivateSuccessStoresLicense(t *testing.T) {
	r := newRig(t, engine.DefaultConfig())
	res := r.activate("  " + keyA + "\n")
	if !res.Success || res.Evaluation.Status != engine.StatusActive || res.License == nil || res.License.LicenseTypeName != "年度版" {
		t.Fatalf("unexpected result %+v", res)
	}
	v := r.status()
	rec := v.Record
	if rec.LicenseKey != keyA || rec.MachineID != thisMachine || *rec.LimitTotal != 500 || *rec.LimitBatch != 100 || rec.VerificationToken != r.srv.Token(keyA) {
		t.Fatalf("record not stored right: %+v", rec)
	}
	if !rec.LastRefresh.Success || rec.LastRefresh.HTTPStatus != 200 || rec.LastRefresh.Kind != "activate" {
		t.Fatalf("last refresh = %+v", rec.LastRefresh)
	}
	var raw map[string]any
	if err := json.Unmarshal(rec.License, &raw); err != nil || raw["licenseTypeName"] != "年度版" {
		t.Fatalf("raw license not kept: %s", rec.License)
	}
	last, _ := r.srv.LastRequest()
	if last.Verify == nil || last.Verify.DeviceInfo != "sponsor-activation:"+thisMachine || last.Verify.MachineID != thisMachine {
		t.Fatalf("wire request = %+v", last.Verify)
	}
	evs, _ := r.eng.Events(r.ctx, 10)
	if len(evs) != 1 || evs[0].Kind != engine.EventActivated {
		t.Fatalf("events = %+v", evs)
	}
}

func TestActivateBadFormatNoNetwork(t *testing.T) {
	r := newRig(t, engine.DefaultConfig())
	for _, k := range []string{"", "a\x00b", string(make([]byte, 600))} {
		if _, err := r.eng.Activate(r.ctx, k); !errors.Is(err, engine.ErrInvalidKeyFormat) {
			t.Fatalf("Activate(%q) = %v, want ErrInvalidKeyFormat", k, err)
		}
	}
	if n := len(r.srv.Requests()); n != 0 {
		t.Fatalf("%d requests reached the server", n)
	}
}

// Transactional activation: a failing key never disturbs a standing license.
func TestActivateFailureKeepsStandingLicense(t *testing.T) {
	faults := map[string]func(*remotetest.Server){
		"definitive 404": func(s *remotetest.Server) {},
		"transient down": func(s *remotetest.Server) { s.SetDown(true) },
		"transient 503":  func(s *remotetest.Server) { s.SetFault(remotetest.Status5xx(503)) },
	}
	for name, fault := range faults {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, engine.DefaultConfig())
			r.activate(keyA)
			// A failure streak on the standing license must survive too.
			r.srv.SetFault(remotetest.Status5xx(500))
			r.clock.Advance(time.Hour)
			r.heartbeat()
			r.srv.ClearFault()
			before := r.status().Record

			fault(r.srv)
			r.clock.Advance(time.Hour)
			res := r.activate("LK-UNKNOWN-KEY-0000")
			if res.Success || res.RemoteError == nil {
				t.Fatalf("activation of an unknown key succeeded: %+v", res)
			}
			after := r.status()
			if after.Record.LicenseKey != keyA || after.Record.ConsecutiveFailures != before.ConsecutiveFailures ||
				!after.Record.FirstFailureAt.Equal(before.FirstFailureAt) || after.Evaluation.Status != engine.StatusGrace {
				t.Fatalf("standing license disturbed: before %+v after %+v", before, after.Record)
			}
			if after.Record.LastRemoteErrorTime.IsZero() || after.Record.LastRefresh.Success {
				t.Fatalf("the failure was not recorded for display: %+v", after.Record.LastRefresh)
			}
		})
	}
}

func TestActivateDefinitiveRejectionStoresNothing(t *testing.T) {
	r := newRig(t, engine.DefaultConfig())
	res := r.activate("LK-UNKNOWN-KEY-0000")
	if res.Success || res.RemoteError == nil || !res.RemoteError.Definitive || res.RemoteError.HTTPStatus != 404 || res.Message != licapi.MsgNotFound {
		t.Fatalf("unexpected result %+v / %+v", res, res.RemoteError)
	}
	var data map[string]any
	if err := json.Unmarshal(res.RemoteError.Data, &data); err != nil || data["message"] != licapi.MsgNotFound {
		t.Fatalf("remoteError.data = %s", res.RemoteError.Data)
	}
	v := r.status()
	if v.Record.HasLicense() || v.Evaluation.Status != engine.StatusCommunity {
		t.Fatalf("a rejected key was stored: %+v", v.Record)
	}
	if v.Record.LastRemoteErrorHTTPStatus != 404 || v.Record.LastRemoteErrorMessage != licapi.MsgNotFound {
		t.Fatalf("error not recorded: %+v", v.Record)
	}
}

func TestActivateTransientStoresPendingThenHeartbeatActivates(t *testing.T) {
	r := newRig(t, engine.DefaultConfig())
	r.srv.SetFault(remotetest.Hang())
	res := r.activate(keyA)
	if res.Success || res.RemoteError == nil || res.RemoteError.Definitive {
		t.Fatalf("want a transient failure, got %+v", res)
	}
	if st := r.status().Evaluation.Status; st != engine.StatusPending {
		t.Fatalf("status = %s, want pending", st)
	}
	if need, _ := r.eng.NeedsStartupVerify(r.ctx); !need {
		t.Fatal("a pending key must be verified at start")
	}
	r.srv.ClearFault()
	if res := r.heartbeat(); !res.Success || res.Evaluation.Status != engine.StatusActive {
		t.Fatalf("heartbeat of the pending key: %+v", res)
	}
}

// Every remote failure kind continues the streak and shows the HTTP code.
func TestHeartbeatFailureKinds(t *testing.T) {
	kinds := []struct {
		name       string
		apply      func(*remotetest.Server)
		httpStatus int
		definitive bool
	}{
		{"down", func(s *remotetest.Server) { s.SetDown(true) }, 0, false},
		{"reset", func(s *remotetest.Server) { s.SetFault(remotetest.ConnectionReset()) }, 0, false},
		{"timeout", func(s *remotetest.Server) { s.SetFault(remotetest.Hang()) }, 0, false},
		{"5xx", func(s *remotetest.Server) { s.SetFault(remotetest.Status5xx(502)) }, 502, false},
		{"4xx rejection", func(s *remotetest.Server) { s.SetSuspended(keyA, true) }, 403, true},
		{"garbage", func(s *remotetest.Server) { s.SetFault(remotetest.Garbage()) }, 200, false},
		{"10 MB body", func(s *remotetest.Server) { s.SetFault(remotetest.Huge(10 << 20)) }, 200, false},
		{"slow body", func(s *remotetest.Server) { s.SetFault(remotetest.SlowBody(300 * time.Millisecond)) }, 200, false},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			r := newRig(t, engine.DefaultConfig())
			r.activate(keyA)
			k.apply(r.srv)
			for i := 1; i <= 2; i++ {
				r.clock.Advance(day(1))
				res := r.heartbeat()
				if res.Success || res.RemoteError == nil {
					t.Fatalf("heartbeat %d succeeded under %s", i, k.name)
				}
				if res.RemoteError.Definitive != k.definitive {
					t.Fatalf("definitive = %v, want %v (%+v)", res.RemoteError.Definitive, k.definitive, res.RemoteError)
				}
				if k.httpStatus != 200 && res.RemoteError.HTTPStatus != k.httpStatus {
					t.Fatalf("httpStatus = %d, want %d", res.RemoteError.HTTPStatus, k.httpStatus)
				}
				if res.Evaluation.Status != engine.StatusGrace || !res.Evaluation.IsSponsored {
					t.Fatalf("status = %s, want grace", res.Evaluation.Status)
				}
			}
			rec := r.status().Record
			if rec.ConsecutiveFailures != 2 || !rec.FirstFailureAt.Equal(t0.Add(day(1))) || rec.LastRefresh.Success || rec.LastRefresh.Kind != "heartbeat" {
				t.Fatalf("streak not recorded: %+v", rec)
			}
		})
	}
}

// The whole grace cycle: active → grace (counting down) → grace_limited →
// expired → a success brings it back.
func TestGraceCycle(t *testing.T) {
	cfg := engine.DefaultConfig()
	cfg.MaxFailures = 3
	r := newRig(t, cfg)
	r.activate(keyA)
	r.srv.SetDown(true)
	var left time.Duration = 1 << 62
	for i := 1; i <= 3; i++ {
		r.clock.Advance(day(1))
		res := r.heartbeat()
		want := engine.StatusGrace
		if i == 3 {
			want = engine.StatusGraceLimited
		}
		if res.Evaluation.Status != want || res.Evaluation.GraceLeft >= left {
			t.Fatalf("day %d: %s left %v, want %s counting down", i, res.Evaluation.Status, res.Evaluation.GraceLeft, want)
		}
		left = res.Evaluation.GraceLeft
	}
	if b := r.status().Evaluation.Limits.Batch; b == nil || *b != 20 {
		t.Fatalf("grace_limited batch = %v, want 20", b)
	}
	r.clock.Advance(day(14))
	v := r.status()
	if v.Evaluation.Status != engine.StatusExpired || v.Evaluation.IsSponsored || *v.Evaluation.Limits.Total != 200 {
		t.Fatalf("after grace: %+v", v.Evaluation)
	}
	r.srv.SetDown(false)
	if res := r.heartbeat(); !res.Success || res.Evaluation.Status != engine.StatusActive {
		t.Fatalf("recovery: %+v", res)
	}
}

func TestDeviceSwitchAway(t *testing.T) {
	r := newRig(t, engine.DefaultConfig())
	r.activate(keyA)
	res, err := r.eng.RequestDeviceSwitch(r.ctx, otherMachine, "new server")
	if err != nil || !res.Success || res.Evaluation.Status != engine.StatusSwitching {
		t.Fatalf("switch: %+v %v", res, err)
	}
	last, _ := r.srv.LastRequest()
	if last.Switch == nil || last.Switch.OldMachineID != thisMachine || last.Switch.NewMachineID != otherMachine || last.Switch.Reason != "new server" {
		t.Fatalf("wire request = %+v", last.Switch)
	}
	if devs := r.srv.Devices(keyA); len(devs) != 1 || devs[0] != otherMachine {
		t.Fatalf("server binding = %v", devs)
	}
	// The new machine activates the key (its binding was moved).
	other := newEngineWith(t, enginetest.NewMemStore(), mustRemote(t, r.srv), r.clock, engine.DefaultConfig(), otherMachine)
	if res, err := other.Activate(r.ctx, keyA); err != nil || !res.Success {
		t.Fatalf("new machine activation: %+v %v", res, err)
	}
	// The old machine keeps the license for the window, then is restricted.
	r.clock.Advance(23 * time.Hour)
	if st := r.status().Evaluation.Status; st != engine.StatusSwitching {
		t.Fatalf("inside the window: %s", st)
	}
	r.clock.Advance(2 * time.Hour)
	if ev := r.status().Evaluation; ev.Status != engine.StatusCommunity || ev.IsSponsored {
		t.Fatalf("after the window: %+v", ev)
	}
	if wrote, err := r.eng.Tick(r.ctx); err != nil || !wrote {
		t.Fatalf("tick: %v %v", wrote, err)
	}
	if rec := r.status().Record; rec.HasLicense() {
		t.Fatalf("the old machine still holds the key: %+v", rec)
	}
}

func TestDeviceSwitchOntoThisMachineAfterHardwareChange(t *testing.T) {
	r := newRig(t, engine.DefaultConfig())
	r.activate(keyA)
	// The same data directory on new hardware: a new machine code.
	moved := newEngineWith(t, r.store, mustRemote(t, r.srv), r.clock, engine.DefaultConfig(), otherMachine)
	v, _ := moved.Status(r.ctx)
	if v.Evaluation.Status != engine.StatusExpired || v.Evaluation.Reason != engine.ReasonMachineChanged {
		t.Fatalf("want machine_changed, got %+v", v.Evaluation)
	}
	res, err := moved.RequestDeviceSwitch(r.ctx, otherMachine, "motherboard replaced")
	if err != nil || !res.Success || res.Evaluation.Status != engine.StatusActive {
		t.Fatalf("rebind: %+v %v", res, err)
	}
	if rec := r.status().Record; rec.MachineID != otherMachine || rec.OldMachineID != thisMachine {
		t.Fatalf("record after rebind: %+v", rec)
	}
}

func TestDeviceSwitchValidation(t *testing.T) {
	r := newRig(t, engine.DefaultConfig())
	if _, err := r.eng.RequestDeviceSwitch(r.ctx, otherMachine, ""); !errors.Is(err, engine.ErrNoLicense) {
		t.Fatalf("without a license: %v", err)
	}
	r.activate(keyA)
	for _, id := range []string{"server_XYZ", "", "server_0123456789ABCDEF"} {
		if _, err := r.eng.RequestDeviceSwitch(r.ctx, id, ""); !errors.Is(err, engine.ErrInvalidMachineID) {
			t.Fatalf("%q: %v", id, err)
		}
	}
	if _, err := r.eng.RequestDeviceSwitch(r.ctx, thisMachine, ""); !errors.Is(err, engine.ErrInvalidRequest) {
		t.Fatalf("switch onto the bound machine: %v", err)
	}
	r.srv.SetSuspended(keyA, true)
	res, err := r.eng.RequestDeviceSwitch(r.ctx, otherMachine, "x")
	if err != nil || res.Success || res.RemoteError == nil || res.RemoteError.HTTPStatus != 403 || res.Evaluation.Status != engine.StatusActive {
		t.Fatalf("refused switch: %+v %v", res, err)
	}
}

func TestClear(t *testing.T) {
	r := newRig(t, engine.DefaultConfig())
	r.activate(keyA)
	r.clock.Advance(time.Hour)
	ev, err := r.eng.Clear(r.ctx)
	if err != nil || ev.Status != engine.StatusCommunity {
		t.Fatalf("clear: %+v %v", ev, err)
	}
	v := r.status()
	if v.Record.HasLicense() || v.Evaluation.Status != engine.StatusCommunity || v.Record.ClockHighWater.IsZero() {
		t.Fatalf("after clear: %+v", v.Record)
	}
	if _, err := r.eng.Heartbeat(r.ctx); !errors.Is(err, engine.ErrNoLicense) {
		t.Fatalf("heartbeat after clear: %v", err)
	}
}

// A clock turned back is never trusted: the high-water mark persists.
func TestClockTurnedBack(t *testing.T) {
	r := newRig(t, engine.DefaultConfig())
	r.activate(keyA)
	r.srv.SetDown(true)
	r.clock.Advance(day(10))
	r.heartbeat() // records the failure and the time
	if _, err := r.eng.Tick(r.ctx); err != nil {
		t.Fatal(err)
	}
	// A new process (fresh engine, same store) whose clock was set back.
	r.clock.Set(t0.Add(day(1)))
	fresh := newEngineWith(t, r.store, mustRemote(t, r.srv), r.clock, engine.DefaultConfig(), thisMachine)
	v, _ := fresh.Status(r.ctx)
	if v.Evaluation.Status != engine.StatusGrace || !v.Evaluation.Now.Equal(t0.Add(day(10))) {
		t.Fatalf("clock back gave %s at %v; want grace computed at the high-water mark", v.Evaluation.Status, v.Evaluation.Now)
	}
	if _, err := fresh.Tick(r.ctx); err != nil {
		t.Fatal(err)
	}
	evs, _ := fresh.Events(r.ctx, 1)
	if len(evs) == 0 || evs[0].Kind != engine.EventClockBack {
		t.Fatalf("no clock event: %+v", evs)
	}
}

// A clock turned back while the process runs: answers keep the highest
// reading the process saw, as a fresh process keeps the persisted mark.
func TestClockTurnedBackInProcess(t *testing.T) {
	r := newRig(t, engine.DefaultConfig())
	r.activate(keyA)
	r.srv.SetDown(true)
	r.clock.Advance(day(10))
	if _, err := r.eng.CheckQuota(r.ctx, engine.QuotaRequest{Batch: 1, Used: engine.Int64(0)}); err != nil {
		t.Fatal(err)
	}
	high := r.clock.Now()
	r.clock.Set(t0.Add(day(1)))
	v, err := r.eng.Status(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Evaluation.Now.Equal(high) {
		t.Fatalf("clock back in the process: evaluated at %v, want the highest reading %v", v.Evaluation.Now, high)
	}
}

func TestQuotaDynamicAndCommunity(t *testing.T) {
	r := newRig(t, engine.DefaultConfig())
	check := func(batch int64, used *int64) engine.QuotaAnswer {
		t.Helper()
		a, err := r.eng.CheckQuota(r.ctx, engine.QuotaRequest{Batch: batch, Used: used})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	// Community: 200 / 20.
	if a := check(20, engine.Int64(180)); !a.Allowed {
		t.Fatalf("community 20 at 180: %+v", a)
	}
	if a := check(21, nil); a.Allowed || a.Reason != engine.ReasonBatchExceeded {
		t.Fatalf("community batch 21: %+v", a)
	}
	if a := check(5, engine.Int64(196)); a.Allowed || a.Reason != engine.ReasonTotalExceeded {
		t.Fatalf("community total: %+v", a)
	}
	// Licensed 500/100 from customField1/2 (string and number).
	r.activate(keyA)
	if a := check(100, engine.Int64(400)); !a.Allowed || *a.Limits.Total != 500 || *a.Limits.Batch != 100 {
		t.Fatalf("licensed 100 at 400: %+v", a)
	}
	if a := check(101, nil); a.Allowed {
		t.Fatalf("licensed batch 101: %+v", a)
	}
	// Empty/missing fields: unlimited.
	r.activate(keyB)
	if a := check(1_000_000, engine.Int64(1_000_000_000)); !a.Allowed || a.Limits.Total != nil || a.Limits.Batch != nil {
		t.Fatalf("unlimited: %+v", a)
	}
	evs, _ := r.eng.Events(r.ctx, 100)
	refusals := 0
	for _, e := range evs {
		if e.Kind == engine.EventQuotaRefused {
			refusals++
		}
	}
	if refusals != 3 {
		t.Fatalf("%d refusals logged, want 3", refusals)
	}
}

func TestConsumeIdempotentAndConcurrent(t *testing.T) {
	r := newRig(t, engine.DefaultConfig())
	a, err := r.eng.ConsumeQuota(r.ctx, engine.QuotaRequest{Batch: 5, IdempotencyKey: "order-1"})
	if err != nil || !a.Allowed || a.Used != 5 {
		t.Fatalf("first consume: %+v %v", a, err)
	}
	b, err := r.eng.ConsumeQuota(r.ctx, engine.QuotaRequest{Batch: 5, IdempotencyKey: "order-1"})
	if err != nil || !b.Replayed || b.Used != 5 || !b.Allowed {
		t.Fatalf("replayed consume: %+v %v", b, err)
	}
	// 64 goroutines race for the remaining 195 of the community total.
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := int64(0)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := r.eng.ConsumeQuota(r.ctx, engine.QuotaRequest{Batch: 4})
			if err != nil {
				t.Error(err)
				return
			}
			if a.Allowed {
				mu.Lock()
				admitted += 4
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	v := r.status()
	if v.Usage != 5+admitted || v.Usage > 200 || admitted != 192 {
		t.Fatalf("usage %d, admitted %d: want 197 with no over-admission", v.Usage, admitted)
	}
	if _, err := r.eng.ConsumeQuota(r.ctx, engine.QuotaRequest{Batch: 1, IdempotencyKey: "has space"}); !errors.Is(err, engine.ErrInvalidRequest) {
		t.Fatalf("bad idempotency key: %v", err)
	}
	if _, err := r.eng.ConsumeQuota(r.ctx, engine.QuotaRequest{Batch: 0}); !errors.Is(err, engine.ErrInvalidRequest) {
		t.Fatalf("batch 0: %v", err)
	}
}

// A failing policy falls back to the builtin decision.
func TestPolicyFailureFallsBack(t *testing.T) {
	e, err := engine.New(engine.Options{
		Store: enginetest.NewMemStore(), Remote: &enginetest.Remote{}, Clock: enginetest.NewClock(t0),
		Config: engine.DefaultConfig(), MachineID: thisMachine,
		Policy: failingPolicy{},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.CheckQuota(context.Background(), engine.QuotaRequest{Batch: 21})
	if err != nil || a.Allowed || a.Reason != engine.ReasonBatchExceeded || a.Policy != "builtin (fallback)" {
		t.Fatalf("fallback decision: %+v %v", a, err)
	}
}

type failingPolicy struct{}

func (failingPolicy) Decide(context.Context, engine.QuotaInput) (engine.QuotaDecision, error) {
	return engine.QuotaDecision{}, errors.New("guest trapped")
}
func (failingPolicy) Close(context.Context) error { return nil }

func mustRemote(t *testing.T, srv *remotetest.Server) engine.RemoteClient {
	t.Helper()
	rc, err := remote.New(remote.Config{BaseURL: srv.URL(), TotalTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}
