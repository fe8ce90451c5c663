package licserver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/licserver/store"
	"github.com/licensehost/licensehost/internal/signing"
)

// actEnv is a licensed with a keyring, its admin API over real HTTP.
type actEnv struct {
	*env
	keys *Keyring
	act  ActivationAdmin // over HTTP
}

func newActEnv(t *testing.T) *actEnv {
	e := newEnv(t, envOpts{churn: Rate{Burst: 3, Every: time.Hour}})
	keys, err := e.dir.LoadKeyring()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(HandlerConfig{Service: e.svc, AdminToken: testToken, Keys: keys}))
	t.Cleanup(srv.Close)
	e.srv = srv
	c := &AdminClient{BaseURL: srv.URL, Token: testToken}
	e.admin = c
	return &actEnv{env: e, keys: keys, act: c}
}

// installation is a host's installation key and machine code.
type installation struct {
	machine string
	pub     ed25519.PublicKey
	priv    ed25519.PrivateKey
}

func newInstallation(t *testing.T, machine string) installation {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return installation{machine, pub, priv}
}

func (in installation) request(t *testing.T, key string) []byte {
	b, err := actfile.SignRequest(actfile.Request{MachineID: in.machine, InstallationKey: actfile.EncodeKey(in.pub),
		LicenseKey: key, CreatedAt: time.Now(), Nonce: "n-" + in.machine}, in.priv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (in installation) receipt(t *testing.T, f IssuedFile, key string) []byte {
	b, err := actfile.SignReceipt(actfile.Receipt{Serial: f.Serial, LicenseKeyHash: actfile.HashKey(key),
		MachineID: in.machine, InstallationKey: actfile.EncodeKey(in.pub), UninstalledAt: time.Now()}, in.priv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *actEnv) trust() actfile.TrustSet {
	ts := actfile.TrustSet{}
	for _, k := range e.keys.List() {
		pub, _ := signing.ParsePublicKey(k.PublicKey)
		ts.Add(k.Kid, pub)
	}
	return ts
}

func TestActivationIssueAndRelease(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	if _, err := e.admin.AddType(ctx, store.LicenseType{Name: "formal-1", MaxDevices: 1, CustomField1: "500",
		Kind: "formal", Features: []string{"data.source", "data.cdc"}, Uninstallable: true, Migratable: true}); err != nil {
		t.Fatal(err)
	}
	l, err := e.admin.IssueKey(ctx, IssueRequest{Type: "formal-1", ExpiresAt: ptr(e.clock.Now().Add(365 * 24 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	a, b := newInstallation(t, "server_aaaaaaaaaaaaaaaa"), newInstallation(t, "server_bbbbbbbbbbbbbbbb")

	f, err := e.act.IssueActivation(ctx, a.request(t, ""), l.Key)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := actfile.ParseActivation([]byte(f.File))
	if err != nil {
		t.Fatal(err)
	}
	if err := sa.Verify(e.trust()); err != nil {
		t.Fatal(err)
	}
	if sa.Kind != actfile.Formal || !sa.Uninstallable || !sa.Migratable || len(sa.Features) != 2 ||
		sa.MachineID != a.machine || sa.InstallationKey != actfile.EncodeKey(a.pub) || sa.CustomField1 != "500" ||
		sa.ExpiresAt == nil || sa.LicenseKeyHash != actfile.HashKey(l.Key) || strings.Contains(f.File, l.Key) ||
		sa.Product != "测试应用" {
		t.Fatalf("file payload %+v", sa.Activation)
	}
	if got, _ := e.admin.GetKey(ctx, l.Key); len(got.Devices) != 1 || got.Devices[0].MachineID != a.machine || got.CurrentUses != 1 {
		t.Fatalf("binding after issue: %+v", got.Devices)
	}
	// The same installation asking again gets the same file, no new binding.
	again, err := e.act.IssueActivation(ctx, a.request(t, l.Key), "")
	if err != nil || !again.Reissued || again.File != f.File {
		t.Fatalf("re-issue: %+v %v", again, err)
	}
	// A second machine hits the device limit, like an online activation.
	if _, err := e.act.IssueActivation(ctx, b.request(t, ""), l.Key); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "device_limit_reached") {
		t.Fatalf("second machine: %v", err)
	}
	// A receipt signed by another installation is refused.
	if _, err := e.act.ReleaseActivation(ctx, b.receipt(t, f, l.Key)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("foreign receipt: %v", err)
	}
	rel, err := e.act.ReleaseActivation(ctx, a.receipt(t, f, l.Key))
	if err != nil || !rel.Freed || rel.Already {
		t.Fatalf("release: %+v %v", rel, err)
	}
	if rel, err := e.act.ReleaseActivation(ctx, a.receipt(t, f, l.Key)); err != nil || !rel.Already {
		t.Fatalf("release twice: %+v %v", rel, err)
	}
	if got, _ := e.admin.GetKey(ctx, l.Key); len(got.Devices) != 0 {
		t.Fatalf("binding after release: %+v", got.Devices)
	}
	fb, err := e.act.IssueActivation(ctx, b.request(t, ""), l.Key)
	if err != nil || fb.Serial == f.Serial || fb.MachineID != b.machine {
		t.Fatalf("migration to b: %+v %v", fb, err)
	}
	list, err := e.act.ListActivations(ctx, l.Key)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %d %v", len(list), err)
	}
	audit, _ := e.admin.AuditLog(ctx, 50, l.Key)
	var actions []string
	for _, x := range audit {
		actions = append(actions, x.Action)
	}
	if s := strings.Join(actions, ","); strings.Count(s, "activation.issue") != 4 || strings.Count(s, "activation.release") != 1 {
		t.Fatalf("audit: %s", s)
	}
}

func TestActivationTemporaryAndRefusals(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	if _, err := e.admin.AddType(ctx, store.LicenseType{Name: "trial", Kind: "temporary", Uninstallable: true}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("temporary uninstallable type: %v", err)
	}
	for _, bad := range []store.LicenseType{{Name: "x", Kind: "preauth"}, {Name: "x", Features: []string{"Bad Name"}},
		{Name: "x", Features: []string{"a", "a"}}, {Name: "x", Kind: "formal", Migratable: true}} {
		if _, err := e.admin.AddType(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
	if _, err := e.admin.AddType(ctx, store.LicenseType{Name: "trial", Kind: "temporary", Features: []string{"data.cdc"}, Validity: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	l, _ := e.admin.IssueKey(ctx, IssueRequest{Type: "trial"})
	never, _ := e.admin.IssueKey(ctx, IssueRequest{Type: "trial", ExpiresAt: &time.Time{}})
	in := newInstallation(t, "server_cccccccccccccccc")
	f, err := e.act.IssueActivation(ctx, in.request(t, l.Key), "")
	if err != nil {
		t.Fatal(err)
	}
	sa, _ := actfile.ParseActivation([]byte(f.File))
	if sa.Kind != actfile.Temporary || sa.Uninstallable || sa.Migratable || sa.ExpiresAt == nil || !sa.ExpiresAt.Equal(e.clock.Now().Add(5*time.Second)) {
		t.Fatalf("temporary file %+v", sa.Activation)
	}
	if _, err := e.act.IssueActivation(ctx, in.request(t, never.Key), ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("temporary without expiry: %v", err)
	}
	// A temporary file cannot be released.
	if _, err := e.act.ReleaseActivation(ctx, in.receipt(t, f, l.Key)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("release temporary: %v", err)
	}
	// Bad request files: one clear 400 each, nothing bound.
	good := in.request(t, l.Key)
	for name, b := range map[string][]byte{
		"not armored": []byte("hello"), "too large": bytes.Repeat([]byte("a"), actfile.MaxFileSize+1),
		"tampered": bytes.Replace(good, []byte("\n\n"), []byte("\n\nAAAA"), 1),
	} {
		if _, err := e.act.IssueActivation(ctx, b, l.Key); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := e.act.IssueActivation(ctx, in.request(t, "LH-0000-0000-0000-0000-0000-0000-0000"), ""); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := e.admin.SetKeyStatus(ctx, l.Key, ActionSuspend); err != nil {
		t.Fatal(err)
	}
	other := newInstallation(t, "server_dddddddddddddddd")
	if _, err := e.act.IssueActivation(ctx, other.request(t, l.Key), ""); !errors.Is(err, ErrRefused) {
		t.Fatalf("suspended: %v", err)
	}
	e.clock.Add(10 * time.Second)
	if _, err := e.admin.SetKeyStatus(ctx, l.Key, ActionResume); err != nil {
		t.Fatal(err)
	}
	if _, err := e.act.IssueActivation(ctx, other.request(t, l.Key), ""); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "license_expired") {
		t.Fatalf("expired: %v", err)
	}
}

func TestSigningKeyRotation(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	keys0, _ := e.act.SigningKeys(ctx)
	if len(keys0) != 1 || !keys0[0].Current || keys0[0].Kid != DefaultKid(e.pub) {
		t.Fatalf("initial keys %+v", keys0)
	}
	e.admin.AddType(ctx, store.LicenseType{Name: "f", Kind: "formal", Features: []string{"a"}})
	l, _ := e.admin.IssueKey(ctx, IssueRequest{Type: "f"})
	first := newInstallation(t, "server_1111111111111111")
	old, err := e.act.IssueActivation(ctx, first.request(t, l.Key), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.act.RotateSigningKey(ctx, "bad kid"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad kid: %v", err)
	}
	ki, err := e.act.RotateSigningKey(ctx, "2026-b")
	if err != nil || ki.Kid != "2026-b" || !ki.Current {
		t.Fatalf("rotate: %+v %v", ki, err)
	}
	if _, err := e.act.RotateSigningKey(ctx, "2026-b"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("kid reused: %v", err)
	}
	newer, err := e.act.IssueActivation(ctx, newInstallation(t, "server_2222222222222222").request(t, l.Key), "")
	if err != nil || newer.Kid != "2026-b" || old.Kid != keys0[0].Kid {
		t.Fatalf("kids: old %q new %q %v", old.Kid, newer.Kid, err)
	}
	// Both files verify while both kids are trusted; the old one only
	// under its own kid.
	ts := e.trust()
	for _, f := range []IssuedFile{old, newer} {
		sa, _ := actfile.ParseActivation([]byte(f.File))
		if err := sa.Verify(ts); err != nil {
			t.Fatal(err)
		}
	}
	sa, _ := actfile.ParseActivation([]byte(old.File))
	if err := sa.Verify(actfile.TrustSet{"2026-b": ts["2026-b"]}); !errors.Is(err, actfile.ErrUntrustedKey) {
		t.Fatalf("old file without its kid: %v", err)
	}
	// The first installation asking again gets its file re-signed by the
	// current key: same serial and payload, new kid, no new binding.
	before, _ := e.admin.GetKey(ctx, l.Key)
	again, err := e.act.IssueActivation(ctx, first.request(t, l.Key), "")
	if err != nil || !again.Reissued || again.Serial != old.Serial || again.Kid != "2026-b" {
		t.Fatalf("re-issue after rotation: %+v %v", again, err)
	}
	sOld, _ := actfile.ParseActivation([]byte(old.File))
	sNew, _ := actfile.ParseActivation([]byte(again.File))
	if !bytes.Equal(sOld.Envelope.Payload, sNew.Envelope.Payload) || sNew.Verify(actfile.TrustSet{"2026-b": ts["2026-b"]}) != nil {
		t.Fatal("re-signed file differs or does not verify under the new kid")
	}
	if after, _ := e.admin.GetKey(ctx, l.Key); after.CurrentUses != before.CurrentUses || len(after.Devices) != len(before.Devices) {
		t.Fatal("re-issue made a new binding")
	}
	// Answers now carry the new kid and verify under the new key.
	r := e.verify(l.Key, "server_3333333333333333", "")
	if h := r.header.Get(signing.HeaderSignature); !strings.HasSuffix(h, ";kid=2026-b") {
		t.Fatalf("signature header %q", h)
	}
	// The keyring survives a restart; signing.key/pub hold the current key.
	k2, err := e.dir.LoadKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if kid, _ := k2.Current(); kid != "2026-b" || len(k2.List()) != 2 {
		t.Fatalf("reloaded: %q %+v", kid, k2.List())
	}
	pub, _ := e.dir.LoadPublicKey()
	if signing.EncodePublicKey(pub) != ki.PublicKey {
		t.Fatal("signing.pub is not the current key")
	}
}
