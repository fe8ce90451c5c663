package activation

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/remote"
	"github.com/licensehost/licensehost/storage"
)

const machine = "server_0123456789abcdef"

var t0 = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

type rig struct {
	t      *testing.T
	ctx    context.Context
	dir    string
	store  *storage.Store
	clock  *enginetest.Clock
	eng    *engine.Engine
	m      *Manager
	key    ed25519.PrivateKey
	vendor ed25519.PrivateKey
	trust  actfile.TrustSet
}

func newRig(t *testing.T) *rig {
	r := &rig{t: t, ctx: context.Background(), dir: t.TempDir(), clock: enginetest.NewClock(t0)}
	var err error
	if r.store, err = storage.Open(filepath.Join(r.dir, "db"), storage.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.store.Close() })
	if r.key, _, err = LoadOrCreateKey(r.dir); err != nil {
		t.Fatal(err)
	}
	vpub, vpriv, _ := ed25519.GenerateKey(nil)
	r.vendor, r.trust = vpriv, actfile.TrustSet{"v1": vpub}
	r.restart(r.trust)
	return r
}

// restart builds a new engine and manager on the same store, as a daemon
// restart does, with trust as the trust set.
func (r *rig) restart(trust actfile.TrustSet) {
	r.t.Helper()
	rc, err := remote.New(remote.Config{BaseURL: "http://127.0.0.1:9", TotalTimeout: time.Second})
	if err != nil {
		r.t.Fatal(err)
	}
	p := engine.Product{Name: "P", Features: []engine.Feature{{Name: "data.source"}, {Name: "data.cdc"}, {Name: "data.mq"}}}
	if r.eng, err = engine.New(engine.Options{Store: r.store, Remote: rc, Clock: r.clock, Config: engine.DefaultConfig(),
		MachineID: machine, Product: p}); err != nil {
		r.t.Fatal(err)
	}
	if r.m, err = New(Config{Engine: r.eng, Store: r.store, Key: r.key, Trust: trust}); err != nil {
		r.t.Fatal(err)
	}
	r.eng.SetOffline(r.m)
	if err := r.m.Reconcile(r.ctx); err != nil {
		r.t.Fatal(err)
	}
}

type fileOpt func(*actfile.Activation)

func (r *rig) file(serial string, kind actfile.Kind, features []string, exp time.Duration, opts ...fileOpt) []byte {
	r.t.Helper()
	a := actfile.Activation{Serial: serial, LicenseKeyHash: actfile.HashKey("LH-X"), LicenseKeyHint: "LH-X…XXXX",
		LicenseType: "t", Kind: kind, MachineID: machine, InstallationKey: r.m.InstallationKey(), IssuedAt: r.clock.Now(),
		Uninstallable: kind == actfile.Formal, Migratable: kind == actfile.Formal}
	if exp > 0 {
		e := r.clock.Now().Add(exp)
		a.ExpiresAt = &e
	}
	for _, f := range features {
		a.Features = append(a.Features, actfile.Feature{Name: f})
	}
	for _, o := range opts {
		o(&a)
	}
	b, err := actfile.SignActivation(a, "v1", r.vendor)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

func (r *rig) enabled(name string) engine.FeatureStatus {
	r.t.Helper()
	f, err := r.eng.CheckFeature(r.ctx, name)
	if err != nil {
		r.t.Fatal(err)
	}
	return f
}

func (r *rig) count() int {
	as, err := r.store.Activations(r.ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	return len(as)
}

func TestInstallationKey(t *testing.T) {
	dir := t.TempDir()
	k1, created, err := LoadOrCreateKey(dir)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	fi, _ := os.Stat(filepath.Join(dir, KeyFile))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKey(dir)
	if err != nil || created || !k1.Equal(k2) {
		t.Fatal("second start made another key")
	}
	pub, found, err := ReadPublicKey(dir)
	if err != nil || !found || pub != actfile.EncodeKey(k1.Public().(ed25519.PublicKey)) {
		t.Fatalf("public key %q %v %v", pub, found, err)
	}
	os.WriteFile(filepath.Join(dir, KeyFile), []byte("garbage"), 0o600)
	if _, _, err := LoadOrCreateKey(dir); err == nil {
		t.Fatal("a damaged key file was accepted (or replaced)")
	}
}

func TestRequest(t *testing.T) {
	r := newRig(t)
	b, err := r.m.Request(r.ctx, "LH-KEY")
	if err != nil {
		t.Fatal(err)
	}
	req, err := actfile.ParseRequest(b)
	if err != nil || req.MachineID != machine || req.InstallationKey != r.m.InstallationKey() || req.LicenseKey != "LH-KEY" {
		t.Fatalf("%+v %v", req, err)
	}
	if _, err := r.m.Request(r.ctx, "bad\nkey"); !errors.Is(err, engine.ErrInvalidRequest) {
		t.Fatal(err)
	}
}

func TestInstallLifecycle(t *testing.T) {
	r := newRig(t)
	formal := r.file("AF-FORM", actfile.Formal, []string{"data.source", "data.cdc"}, 0)
	temp := r.file("AF-TEMP", actfile.Temporary, []string{"data.mq"}, time.Hour)
	if f := r.enabled("data.mq"); f.Enabled {
		t.Fatal("feature on before any install")
	}
	for _, b := range [][]byte{formal, temp} {
		if _, already, err := r.m.Install(r.ctx, b); err != nil || already {
			t.Fatal(already, err)
		}
	}
	in, already, err := r.m.Install(r.ctx, formal)
	if err != nil || !already || in.Serial != "AF-FORM" || r.count() != 2 {
		t.Fatalf("second install: %+v %v %v", in, already, err)
	}
	if f := r.enabled("data.cdc"); !f.Enabled || f.Kind != engine.KindFormal || f.Source != "activation:AF-FORM" {
		t.Fatalf("data.cdc %+v", f)
	}
	if f := r.enabled("data.mq"); !f.Enabled || f.Kind != engine.KindTemporary {
		t.Fatalf("data.mq %+v", f)
	}
	// The temporary license expires on time; a clock turned back does not
	// bring it back.
	r.clock.Advance(time.Hour)
	if f := r.enabled("data.mq"); f.Enabled || f.Reason != engine.FeatureExpired {
		t.Fatalf("data.mq after expiry %+v", f)
	}
	r.clock.Set(t0)
	if f := r.enabled("data.mq"); f.Enabled {
		t.Fatal("clock turned back revived an expired license")
	}
	r.clock.Set(t0.Add(time.Hour))
	list, _ := r.m.List(r.ctx)
	states := map[string]string{}
	for _, i := range list {
		states[i.Serial] = i.State
	}
	if states["AF-FORM"] != StateInForce || states["AF-TEMP"] != StateExpired {
		t.Fatalf("states %v", states)
	}
	if _, err := r.m.Uninstall(r.ctx, "AF-TEMP"); !errors.Is(err, ErrUninstallExpired) {
		t.Fatalf("uninstall expired: %v", err)
	}
	if err := r.m.Delete(r.ctx, "AF-FORM"); !errors.Is(err, ErrInForce) {
		t.Fatalf("delete in force: %v", err)
	}
	if err := r.m.Delete(r.ctx, "AF-TEMP"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.m.Install(r.ctx, temp); !errors.Is(err, ErrExpired) {
		t.Fatalf("reinstall expired: %v", err)
	}
	receipt, err := r.m.Uninstall(r.ctx, "AF-FORM")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := actfile.ParseReceipt(receipt)
	if err != nil || rc.Serial != "AF-FORM" || rc.InstallationKey != r.m.InstallationKey() {
		t.Fatalf("receipt %+v %v", rc, err)
	}
	if again, err := r.m.Receipt(r.ctx, "AF-FORM"); err != nil || string(again) != string(receipt) {
		t.Fatal("receipt not kept", err)
	}
	if f := r.enabled("data.cdc"); f.Enabled {
		t.Fatal("feature still on after uninstall")
	}
	if _, _, err := r.m.Install(r.ctx, formal); !errors.Is(err, ErrAlreadyUninstalled) {
		t.Fatalf("reinstall uninstalled: %v", err)
	}
	// The ban survives a restart.
	r.restart(r.trust)
	if _, _, err := r.m.Install(r.ctx, formal); !errors.Is(err, ErrAlreadyUninstalled) || r.count() != 0 {
		t.Fatalf("reinstall after restart: %v", err)
	}
	if _, err := r.m.Uninstall(r.ctx, "AF-NONE"); !errors.Is(err, ErrNotInstalled) {
		t.Fatal(err)
	}
	if _, err := r.m.Uninstall(r.ctx, "../x"); !errors.Is(err, ErrInvalidSerial) {
		t.Fatal(err)
	}
}

func TestInstallRefusals(t *testing.T) {
	r := newRig(t)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	instOther, _, _ := ed25519.GenerateKey(nil)
	notUninstallable := r.file("AF-NU", actfile.Formal, []string{"data.source"}, 0, func(a *actfile.Activation) { a.Uninstallable, a.Migratable = false, false })
	if _, _, err := r.m.Install(r.ctx, notUninstallable); err != nil {
		t.Fatal(err)
	}
	temp := r.file("AF-T", actfile.Temporary, []string{"data.mq"}, time.Hour)
	if _, _, err := r.m.Install(r.ctx, temp); err != nil {
		t.Fatal(err)
	}
	before := r.count()
	good := r.file("AF-GOOD", actfile.Formal, []string{"data.source"}, 0)
	untrusted, _ := actfile.SignActivation(func() actfile.Activation {
		sa, _ := actfile.ParseActivation(good)
		return sa.Activation
	}(), "v9", otherPriv)
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"wrong machine", r.file("AF-1", actfile.Formal, nil, 0, func(a *actfile.Activation) { a.MachineID = "server_ffffffffffffffff" }), ErrWrongMachine},
		{"other installation", r.file("AF-2", actfile.Formal, nil, 0, func(a *actfile.Activation) { a.InstallationKey = actfile.EncodeKey(instOther) }), ErrWrongMachine},
		{"untrusted kid", untrusted, actfile.ErrUntrustedKey},
		{"damaged", []byte(tamper(good)), actfile.ErrBadSignature},
		{"expired", r.file("AF-3", actfile.Formal, nil, 0, func(a *actfile.Activation) { e := t0.Add(-time.Second); a.ExpiresAt = &e }), ErrExpired},
		{"issued in the future", r.file("AF-4", actfile.Formal, nil, 0, func(a *actfile.Activation) { a.IssuedAt = t0.Add(time.Hour) }), ErrIssuedInFuture},
		{"not armored", []byte("hello"), actfile.ErrNotArmored},
		{"too large", make([]byte, actfile.MaxFileSize+1), actfile.ErrTooLarge},
		{"a request", func() []byte { b, _ := r.m.Request(r.ctx, ""); return b }(), actfile.ErrWrongType},
	}
	for _, c := range cases {
		if _, _, err := r.m.Install(r.ctx, c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if r.count() != before {
		t.Fatal("a refused file was stored")
	}
	if _, err := r.m.Uninstall(r.ctx, "AF-NU"); !errors.Is(err, ErrNotUninstallable) {
		t.Fatalf("not uninstallable: %v", err)
	}
	if _, err := r.m.Uninstall(r.ctx, "AF-T"); !errors.Is(err, ErrNotUninstallable) {
		t.Fatalf("temporary: %v", err)
	}
}

// tamper changes the quota in a file's payload, keeping its signature.
func tamper(b []byte) string {
	env, _ := actfile.Decode(b, actfile.TypeActivation)
	p := strings.Replace(string(env.Payload), `"customField1":""`, `"customField1":"9"`, 1)
	return string(actfile.Encode(actfile.Envelope{Type: env.Type, Kid: env.Kid, Signature: env.Signature, Payload: []byte(p)}))
}

// A kid dropped from the trust set: its installed files stay listed as
// untrusted and grant nothing (they can be deleted); trusted again, they
// count again.
func TestDroppedKid(t *testing.T) {
	r := newRig(t)
	if _, _, err := r.m.Install(r.ctx, r.file("AF-K", actfile.Formal, []string{"data.cdc"}, 0)); err != nil {
		t.Fatal(err)
	}
	r.restart(actfile.TrustSet{})
	if f := r.enabled("data.cdc"); f.Enabled {
		t.Fatal("a file under a dropped kid still grants")
	}
	list, _ := r.m.List(r.ctx)
	if len(list) != 1 || list[0].State != StateUntrusted || !strings.Contains(list[0].Reason, "not signed by a trusted vendor key") {
		t.Fatalf("list %+v", list)
	}
	if _, err := r.m.Uninstall(r.ctx, "AF-K"); !errors.Is(err, ErrNotUninstallable) {
		t.Fatalf("uninstall untrusted: %v", err)
	}
	r.restart(r.trust)
	if f := r.enabled("data.cdc"); !f.Enabled {
		t.Fatal("trusting the kid again did not restore the grant")
	}
	r.restart(actfile.TrustSet{})
	if err := r.m.Delete(r.ctx, "AF-K"); err != nil {
		t.Fatal(err)
	}
	r.restart(r.trust)
	if f := r.enabled("data.cdc"); f.Enabled || r.count() != 0 {
		t.Fatal("deleted file came back")
	}
}

// Grants of a file whose removal was cut short (crash between the store's
// transaction and the grants) are removed at the next start.
func TestReconcileOrphanGrants(t *testing.T) {
	r := newRig(t)
	if _, _, err := r.m.Install(r.ctx, r.file("AF-O", actfile.Formal, []string{"data.cdc"}, 0)); err != nil {
		t.Fatal(err)
	}
	if err := r.store.UninstallActivation(r.ctx, engine.BannedSerial{Serial: "AF-O", At: t0}); err != nil {
		t.Fatal(err)
	}
	if f := r.enabled("data.cdc"); !f.Enabled {
		t.Fatal("setup: grant should still be there")
	}
	r.restart(r.trust)
	if f := r.enabled("data.cdc"); f.Enabled {
		t.Fatal("orphan grant survived Reconcile")
	}
}

// While no online license stands, the activation file in force sets the
// quotas (formal before temporary); without one, community limits apply.
func TestQuotasFromFiles(t *testing.T) {
	r := newRig(t)
	check := func(batch int64) engine.QuotaAnswer {
		t.Helper()
		a, err := r.eng.CheckQuota(r.ctx, engine.QuotaRequest{Batch: batch})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	limits := func() engine.Limits {
		st, err := r.eng.Status(r.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Evaluation.Limits
	}
	if check(30).Allowed {
		t.Fatal("community batch limit (20) not applied")
	}
	temp := r.file("AF-QT", actfile.Temporary, []string{"data.mq"}, time.Hour, func(a *actfile.Activation) { a.CustomField1, a.CustomField2 = "300", "40" })
	formal := r.file("AF-QF", actfile.Formal, []string{"data.cdc"}, 0, func(a *actfile.Activation) { a.CustomField1, a.CustomField2 = "500", "" })
	if _, _, err := r.m.Install(r.ctx, temp); err != nil {
		t.Fatal(err)
	}
	if a := check(30); !a.Allowed || *a.Limits.Batch != 40 || *a.Limits.Total != 300 {
		t.Fatalf("temporary file's quotas: %+v", a)
	}
	if _, _, err := r.m.Install(r.ctx, formal); err != nil {
		t.Fatal(err)
	}
	if a := check(450); !a.Allowed || a.Limits.Batch != nil || *a.Limits.Total != 500 {
		t.Fatalf("formal file's quotas: %+v", a)
	}
	if l := limits(); l.Batch != nil || l.Total == nil || *l.Total != 500 {
		t.Fatalf("status limits %+v", l)
	}
	if _, err := r.m.Uninstall(r.ctx, "AF-QF"); err != nil {
		t.Fatal(err)
	}
	if a := check(30); !a.Allowed || *a.Limits.Batch != 40 {
		t.Fatalf("back to the temporary file: %+v", a)
	}
	r.clock.Advance(time.Hour)
	if a := check(30); a.Allowed {
		t.Fatalf("expired file still sets quotas: %+v", a)
	}
}
