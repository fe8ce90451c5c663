package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/engine/enginetest"
)

// featureRig is the flow rig with a product: a real loopback contract
// server, the real remote client, an in-memory store and a fake clock. It
// can "restart" (a new engine on the same store).
type featureRig struct {
	*rig
	rc      engine.RemoteClient
	product engine.Product
	policy  engine.Policy
}

func newFeatureRig(t *testing.T, p engine.Product) *featureRig {
	t.Helper()
	base, rc := newRigParts(t)
	base.srv.AddLicense(keyA, 1, map[string]any{"licenseTypeName": "年度版", "expiresAt": "2126-01-01T00:00:00Z"})
	base.srv.AddLicense(keyB, 1, map[string]any{"licenseTypeName": "unmapped"})
	r := &featureRig{rig: base, rc: rc, product: p}
	r.restart()
	return r
}

// restart builds a new engine on the same store, as a daemon restart does.
func (r *featureRig) restart() {
	r.t.Helper()
	e, err := engine.New(engine.Options{Store: r.store, Remote: r.rc, Clock: r.clock, Config: engine.DefaultConfig(), MachineID: thisMachine, Product: r.product, Policy: r.policy})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := e.StartFeatures(r.ctx); err != nil {
		r.t.Fatal(err)
	}
	r.eng = e
}

func (r *featureRig) check(name string) engine.FeatureStatus {
	r.t.Helper()
	f, err := r.eng.CheckFeature(r.ctx, name)
	if err != nil {
		r.t.Fatalf("CheckFeature(%s): %v", name, err)
	}
	return f
}

func (r *featureRig) expect(name string, enabled bool, kind engine.GrantKind, source, reason string) {
	r.t.Helper()
	f := r.check(name)
	if f.Enabled != enabled || f.Kind != kind || f.Source != source || f.Reason != reason {
		r.t.Fatalf("%s = {enabled %v kind %q source %q reason %q}, want {%v %q %q %q}", name, f.Enabled, f.Kind, f.Source, f.Reason, enabled, kind, source, reason)
	}
}

func (r *featureRig) preauth() engine.PreauthView {
	r.t.Helper()
	v := r.status()
	if v.Features.Preauth == nil {
		r.t.Fatal("status has no pre-authorization")
	}
	return *v.Features.Preauth
}

func countEvents(t *testing.T, s engine.Store, kind engine.EventKind) int {
	t.Helper()
	evs, err := s.Events(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func TestFeaturesFreshInstall(t *testing.T) {
	r := newFeatureRig(t, testProduct())
	r.expect("data.source", true, engine.KindPreauth, engine.SourcePreauth, "")
	r.expect("data.ingest", true, engine.KindPreauth, engine.SourcePreauth, "")
	r.expect("data.cdc", false, "", "", engine.FeatureNotLicensed)
	r.expect("no.such", false, "", "", engine.FeatureUnknown)
	for _, bad := range []string{"", "Data.CDC", "a b", string(make([]byte, 65))} {
		if _, err := r.eng.CheckFeature(r.ctx, bad); !errors.Is(err, engine.ErrInvalidRequest) {
			t.Errorf("CheckFeature(%q) err = %v, want ErrInvalidRequest", bad, err)
		}
	}
	pv := r.preauth()
	if !pv.StartedAt.Equal(t0) || !pv.EndsAt.Equal(t0.Add(day(180))) || pv.DaysLeft != 180 || pv.Superseded {
		t.Fatalf("preauth = %+v", pv)
	}
	if n := countEvents(t, r.store, engine.EventPreauthStarted); n != 1 {
		t.Fatalf("%d preauth_started events, want 1", n)
	}
}

// Restarting, clearing and a new product file version never restart the
// pre-authorization; it runs out after its days.
func TestPreauthNeverRestarts(t *testing.T) {
	r := newFeatureRig(t, testProduct())
	r.clock.Advance(day(100))
	r.restart()
	if _, err := r.eng.Clear(r.ctx); err != nil {
		t.Fatal(err)
	}
	r.product.Preauth = day(200) // a product file edited to more days
	r.product.Features = append(r.product.Features, engine.Feature{Name: "new.one"})
	r.restart()
	if pv := r.preauth(); !pv.StartedAt.Equal(t0) || pv.DaysLeft != 100 {
		t.Fatalf("preauth after restart, clear and edit = %+v, want started %v with 100 days left", pv, t0)
	}
	r.product.Preauth = day(180)
	r.restart()
	r.clock.Set(t0.Add(day(180)))
	r.expect("data.source", false, engine.KindPreauth, engine.SourcePreauth, engine.FeaturePreauthOver)
	r.expect("data.cdc", false, "", "", engine.FeatureNotLicensed)
	r.restart()
	r.expect("data.source", false, engine.KindPreauth, engine.SourcePreauth, engine.FeaturePreauthOver)
	if n := countEvents(t, r.store, engine.EventPreauthStarted); n != 1 {
		t.Fatalf("%d preauth_started events, want 1", n)
	}
}

// A clock turned back does not give pre-authorization time back.
func TestPreauthClockTurnedBack(t *testing.T) {
	r := newFeatureRig(t, testProduct())
	r.clock.Set(t0.Add(day(181)))
	r.expect("data.source", false, engine.KindPreauth, engine.SourcePreauth, engine.FeaturePreauthOver)
	if _, err := r.eng.Tick(r.ctx); err != nil { // persists the high-water mark
		t.Fatal(err)
	}
	r.clock.Set(t0.Add(day(10)))
	r.restart()
	r.expect("data.source", false, engine.KindPreauth, engine.SourcePreauth, engine.FeaturePreauthOver)
}

// The online license grants its type's features (formal, online) and
// supersedes pre-authorization for good, even when cleared before anyone
// read the status.
func TestOnlineLicenseSupersedesPreauth(t *testing.T) {
	r := newFeatureRig(t, testProduct())
	r.clock.Advance(day(1))
	r.activate(keyA)
	if _, err := r.eng.Clear(r.ctx); err != nil {
		t.Fatal(err)
	}
	r.restart()
	r.expect("data.source", false, engine.KindPreauth, engine.SourcePreauth, engine.FeaturePreauthOver)
	r.expect("data.cdc", false, "", "", engine.FeatureNotLicensed)
	if pv := r.preauth(); !pv.Superseded || pv.DaysLeft != 0 {
		t.Fatalf("preauth = %+v, want superseded", pv)
	}

	r.activate(keyA)
	r.expect("data.source", true, engine.KindFormal, engine.SourceOnline, "")
	r.expect("data.cdc", true, engine.KindFormal, engine.SourceOnline, "")
	r.expect("data.ingest", false, engine.KindPreauth, engine.SourcePreauth, engine.FeaturePreauthOver)
	f := r.check("data.cdc")
	if want := time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC); !f.ExpiresAt.Equal(want) || f.DaysLeft == nil {
		t.Fatalf("data.cdc expires %v (daysLeft %v), want the license's %v", f.ExpiresAt, f.DaysLeft, want)
	}
	if n := countEvents(t, r.store, engine.EventPreauthSuperseded); n != 1 {
		t.Fatalf("%d preauth_superseded events, want 1", n)
	}
}

// A license type the product does not map grants nothing and leaves
// pre-authorization running.
func TestOnlineUnmappedTypeKeepsPreauth(t *testing.T) {
	r := newFeatureRig(t, testProduct())
	r.activate(keyB)
	r.expect("data.source", true, engine.KindPreauth, engine.SourcePreauth, "")
	r.expect("data.cdc", false, "", "", engine.FeatureNotLicensed)
}

// Online features follow sponsorship: on through grace, expired once grace
// is over, and gone (not licensed) after clear.
func TestOnlineFeaturesFollowSponsorship(t *testing.T) {
	r := newFeatureRig(t, testProduct())
	r.activate(keyA)
	cfg := engine.DefaultConfig()
	r.srv.SetDown(true)
	r.clock.Advance(cfg.Trust + day(1))
	if v := r.status(); v.Evaluation.Status != engine.StatusGrace {
		t.Fatalf("status %s, want grace", v.Evaluation.Status)
	}
	r.expect("data.cdc", true, engine.KindFormal, engine.SourceOnline, "")
	graceEnd := t0.Add(cfg.Trust + cfg.Grace)
	if f := r.check("data.cdc"); !f.ExpiresAt.Equal(graceEnd) {
		t.Fatalf("in grace data.cdc expires %v, want the end of grace %v", f.ExpiresAt, graceEnd)
	}
	r.clock.Set(graceEnd.Add(time.Minute))
	r.expect("data.cdc", false, engine.KindFormal, engine.SourceOnline, engine.FeatureExpired)
	if f := r.check("data.cdc"); !f.ExpiresAt.Equal(graceEnd) {
		t.Fatalf("expired data.cdc says %v, want %v", f.ExpiresAt, graceEnd)
	}
	if _, err := r.eng.Clear(r.ctx); err != nil {
		t.Fatal(err)
	}
	r.expect("data.cdc", false, "", "", engine.FeatureNotLicensed)
}

// Activation-file grants plug in as another source: union with the online
// license, expiry, and supersession.
func TestInstalledGrantsUnionAndExpiry(t *testing.T) {
	r := newFeatureRig(t, testProduct())
	trial := engine.SourceActivationPrefix + "T-1"
	if err := r.eng.InstallGrants(r.ctx, trial, []engine.Grant{
		{Feature: "message.topic", Kind: engine.KindTemporary, Source: trial, ExpiresAt: t0.Add(day(30))},
		{Feature: "data.cdc", Kind: engine.KindTemporary, Source: trial, ExpiresAt: t0.Add(day(30))},
	}); err != nil {
		t.Fatal(err)
	}
	r.expect("data.cdc", true, engine.KindTemporary, trial, "")
	r.expect("message.topic", true, engine.KindTemporary, trial, "")
	r.expect("data.source", false, engine.KindPreauth, engine.SourcePreauth, engine.FeaturePreauthOver)

	r.activate(keyA) // 年度版: data.source, data.cdc
	r.expect("data.source", true, engine.KindFormal, engine.SourceOnline, "")
	r.expect("data.cdc", true, engine.KindFormal, engine.SourceOnline, "")
	r.expect("message.topic", true, engine.KindTemporary, trial, "")

	r.clock.Advance(day(31))
	r.heartbeat()
	r.expect("message.topic", false, engine.KindTemporary, trial, engine.FeatureExpired)
	r.expect("data.cdc", true, engine.KindFormal, engine.SourceOnline, "")

	if err := r.eng.RemoveGrants(r.ctx, trial); err != nil {
		t.Fatal(err)
	}
	r.expect("message.topic", false, "", "", engine.FeatureUnknown)
	if _, err := r.eng.Clear(r.ctx); err != nil {
		t.Fatal(err)
	}
	r.expect("data.source", false, engine.KindPreauth, engine.SourcePreauth, engine.FeaturePreauthOver)
	if err := r.eng.InstallGrants(r.ctx, engine.SourcePreauth, nil); !errors.Is(err, engine.ErrInvalidRequest) {
		t.Fatalf("installing preauth grants: %v", err)
	}
}

// The policy input carries the enabled features, sorted.
func TestPolicyInputFeatures(t *testing.T) {
	var seen [][]string
	pol := policyFunc(func(in engine.QuotaInput) engine.QuotaDecision {
		seen = append(seen, slices.Clone(in.Features))
		return engine.DecideBuiltin(in)
	})
	r := newFeatureRig(t, testProduct())
	r.policy = pol
	r.restart()
	if _, err := r.eng.CheckQuota(r.ctx, engine.QuotaRequest{Batch: 1}); err != nil {
		t.Fatal(err)
	}
	r.activate(keyA)
	if _, err := r.eng.ConsumeQuota(r.ctx, engine.QuotaRequest{Batch: 1}); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"data.ingest", "data.source"}, {"data.cdc", "data.source"}}
	if len(seen) != 2 || !slices.Equal(seen[0], want[0]) || !slices.Equal(seen[1], want[1]) {
		t.Fatalf("policy saw %v, want %v", seen, want)
	}
}

type policyFunc func(engine.QuotaInput) engine.QuotaDecision

func (f policyFunc) Decide(_ context.Context, in engine.QuotaInput) (engine.QuotaDecision, error) {
	return f(in), nil
}
func (policyFunc) Close(context.Context) error { return nil }

// Without a product file nothing is known and nothing is written.
func TestNoProductNoFeatures(t *testing.T) {
	r := newFeatureRig(t, engine.Product{})
	r.activate(keyA)
	v := r.status()
	if len(v.Features.Features) != 0 || v.Features.Preauth != nil {
		t.Fatalf("features without a product: %+v", v.Features)
	}
	r.expect("data.cdc", false, "", "", engine.FeatureUnknown)
	if st, _ := r.store.Preauth(r.ctx, ""); !st.StartedAt.IsZero() || st.Superseded() {
		t.Fatalf("feature state written without a product: %+v", st)
	}
}

// A failing feature store fails the read with its error, and never panics:
// the grants read once a write has replaced the ones the engine kept, and
// the generation read that tells.
func TestFeatureStoreFailure(t *testing.T) {
	for _, failing := range []string{"Grants", "GrantsGeneration"} {
		t.Run(failing, func(t *testing.T) {
			r := newFeatureRig(t, testProduct())
			r.check("data.source") // the engine keeps the grants it read
			// Another engine over the store installs grants: the kept ones
			// are stale, and the next read goes to the (failing) store.
			other, err := engine.New(engine.Options{Store: r.store, Remote: r.rc, Clock: r.clock, Config: engine.DefaultConfig(), MachineID: thisMachine, Product: r.product})
			if err != nil {
				t.Fatal(err)
			}
			src := engine.SourceActivationPrefix + "T-1"
			if err := other.InstallGrants(r.ctx, src, []engine.Grant{{Feature: "message.topic", Kind: engine.KindTemporary, Source: src}}); err != nil {
				t.Fatal(err)
			}
			disk := errors.New("disk gone")
			r.store.Fail = func(op string) error {
				if op == failing {
					return disk
				}
				return nil
			}
			if _, err := r.eng.CheckFeature(r.ctx, "data.source"); !errors.Is(err, disk) {
				t.Fatalf("err = %v, want the store's", err)
			}
			if _, err := r.eng.Status(r.ctx); !errors.Is(err, disk) {
				t.Fatalf("status err = %v, want the store's", err)
			}
			r.store.Fail = nil
			r.expect("message.topic", true, engine.KindTemporary, src, "")
		})
	}
}

// Grants installed or removed through another engine over the same store
// (the CLI beside the daemon) are what the next answer sees, though this
// engine kept the grants it read before; so is the policy's input.
func TestKeptGrantsFollowAnotherEnginesWrites(t *testing.T) {
	var seen [][]string
	pol := policyFunc(func(in engine.QuotaInput) engine.QuotaDecision {
		seen = append(seen, slices.Clone(in.Features))
		return engine.DecideBuiltin(in)
	})
	r := newFeatureRig(t, testProduct())
	r.policy = pol
	r.restart()
	other, err := engine.New(engine.Options{Store: r.store, Remote: r.rc, Clock: r.clock, Config: engine.DefaultConfig(), MachineID: thisMachine, Product: r.product})
	if err != nil {
		t.Fatal(err)
	}
	lastFeatures := func() string {
		t.Helper()
		if _, err := r.eng.CheckQuota(r.ctx, engine.QuotaRequest{Batch: 1, Used: engine.Int64(0)}); err != nil {
			t.Fatal(err)
		}
		return strings.Join(seen[len(seen)-1], ",")
	}
	src := engine.SourceActivationPrefix + "T-1"
	for range 2 {
		r.expect("message.topic", false, "", "", engine.FeatureUnknown)
		if got := lastFeatures(); strings.Contains(got, "message.topic") {
			t.Fatalf("policy features before the install: %s", got)
		}
	}
	if err := other.InstallGrants(r.ctx, src, []engine.Grant{{Feature: "message.topic", Kind: engine.KindTemporary, Source: src}}); err != nil {
		t.Fatal(err)
	}
	r.expect("message.topic", true, engine.KindTemporary, src, "")
	if got := lastFeatures(); !strings.Contains(got, "message.topic") {
		t.Fatalf("policy features after another engine installed message.topic: %s", got)
	}
	if err := other.RemoveGrants(r.ctx, src); err != nil {
		t.Fatal(err)
	}
	r.expect("message.topic", false, "", "", engine.FeatureUnknown)
	if got := lastFeatures(); strings.Contains(got, "message.topic") {
		t.Fatalf("policy features after another engine removed message.topic: %s", got)
	}
}

// Concurrent first requests on a fresh installation: every pre-authorized
// feature is allowed, the start is written once, and each event is logged
// once; so is the supersession when concurrent reads follow an activation.
func TestFeaturesConcurrentFirstRequests(t *testing.T) {
	r := newFeatureRig(t, testProduct())
	// A fresh store: the rig's engine already started its own.
	fresh := enginetest.NewMemStore()
	e, err := engine.New(engine.Options{Store: fresh, Remote: r.rc, Clock: r.clock, Config: engine.DefaultConfig(), MachineID: thisMachine, Product: r.product})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Go(func() {
			f, err := e.CheckFeature(r.ctx, "data.source")
			switch {
			case err != nil:
				errs <- err
			case !f.Enabled:
				errs <- fmt.Errorf("request %d: data.source refused: %s", i, f.Reason)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := countEvents(t, fresh, engine.EventPreauthStarted); n != 1 {
		t.Fatalf("%d preauth_started events, want 1", n)
	}
	if _, err := e.Activate(r.ctx, keyA); err != nil {
		t.Fatal(err)
	}
	for range 16 {
		wg.Go(func() {
			if _, err := e.Features(r.ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := countEvents(t, fresh, engine.EventPreauthSuperseded); n != 1 {
		t.Fatalf("%d preauth_superseded events, want 1", n)
	}
}
