package licserver

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"github.com/licensehost/licensehost/internal/licapi"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensehost/licensehost/internal/lickey"
	"github.com/licensehost/licensehost/internal/licserver/store"
	"github.com/licensehost/licensehost/internal/signing"
)

const m1, m2, m3 = "server_1111111111111111", "server_2222222222222222", "server_3333333333333333"

func TestContractShapes(t *testing.T) {
	e := newEnv(t, envOpts{})
	l := e.issue(IssueRequest{ExpiresAt: ptr(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))})

	r := e.verify(l.Key, m1, "")
	want(t, r, 200, true, licapi.MsgVerifyOK)
	if got := slices.Sorted(maps.Keys(r.m)); !slices.Equal(got, []string{"license", "message", "success"}) {
		t.Fatalf("answer fields %v", got)
	}
	lic := r.license()
	wantFields := []string{"activatedAt", "applicationName", "clientIP", "currentDevices", "currentUses",
		"customField1", "customField2", "customField3", "expiresAt", "licenseKey", "licenseTypeDisplayName",
		"licenseTypeName", "maxDevices", "maxUses", "status", "timezone"}
	if got := slices.Sorted(maps.Keys(lic)); !slices.Equal(got, wantFields) {
		t.Fatalf("license fields %v\nwant %v", got, wantFields)
	}
	for f, v := range map[string]any{
		"licenseKey": l.Key, "applicationName": "测试应用", "licenseTypeName": "pro",
		"licenseTypeDisplayName": "专业版", "status": "active", "maxUses": 0.0, "currentUses": 1.0,
		"maxDevices": 1.0, "currentDevices": 1.0, "customField1": "500", "customField2": "100",
		"customField3": "10", "expiresAt": "2027-03-01T00:00:00Z", "activatedAt": "2026-03-01 08:00:00",
		"timezone": "UTC", "clientIP": "127.0.0.1",
	} {
		if lic[f] != v {
			t.Errorf("license.%s = %#v, want %#v", f, lic[f], v)
		}
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if !strings.HasPrefix(r.header.Get(signing.HeaderSignature), "v1;t=") {
		t.Errorf("no signature header: %v", r.header)
	}

	// A license that never expires has expiresAt null.
	l2 := e.issue(IssueRequest{MaxDevices: ptr(int64(0))})
	r = e.verify(l2.Key, m1, "")
	if v, ok := r.license()["expiresAt"]; !ok || v != nil {
		t.Fatalf("expiresAt = %#v (present %v), want null", v, ok)
	}

	// A rejection: success false, message, details, no license.
	unknown, _ := lickey.New(nil)
	r = e.verify(unknown, m1, "")
	want(t, r, 404, false, licapi.MsgNotFound)
	if got := slices.Sorted(maps.Keys(r.m)); !slices.Equal(got, []string{"details", "message", "success"}) {
		t.Fatalf("rejection fields %v", got)
	}
}

func TestStatusCodes(t *testing.T) {
	e := newEnv(t, envOpts{})
	l := e.issue(IssueRequest{})
	typo := []byte(l.Key)
	typo[5] ^= 1 // still in the alphabet? maybe not; either way not a valid key
	cases := []struct {
		name, path string
		body       any
		status     int
		msg        string
	}{
		{"garbage body", licapi.PathVerify, "{not json", 400, licapi.MsgBadRequest},
		{"wrong type", licapi.PathVerify, `{"licenseKey":5}`, 400, licapi.MsgBadRequest},
		{"no key", licapi.PathVerify, licapi.VerifyRequest{MachineID: m1}, 400, licapi.MsgNoKey},
		{"no machine", licapi.PathVerify, licapi.VerifyRequest{LicenseKey: l.Key}, 400, licapi.MsgNoMachine},
		{"control char", licapi.PathVerify, licapi.VerifyRequest{LicenseKey: l.Key, MachineID: "a\nb"}, 400, licapi.MsgBadRequest},
		{"too long", licapi.PathVerify, licapi.VerifyRequest{LicenseKey: l.Key, MachineID: strings.Repeat("m", 513)}, 400, licapi.MsgBadRequest},
		{"mistyped key", licapi.PathVerify, licapi.VerifyRequest{LicenseKey: string(typo), MachineID: m1}, 404, licapi.MsgNotFound},
		{"other format", licapi.PathVerify, licapi.VerifyRequest{LicenseKey: "my-key", MachineID: m1}, 404, licapi.MsgNotFound},
		{"switch garbage", licapi.PathSwitchDevice, "[]", 400, licapi.MsgBadRequest},
		{"switch same", licapi.PathSwitchDevice, licapi.SwitchRequest{LicenseKey: l.Key, OldMachineID: m1, NewMachineID: m1}, 400, licapi.MsgSameMachine},
		{"switch missing", licapi.PathSwitchDevice, licapi.SwitchRequest{LicenseKey: l.Key, OldMachineID: m1}, 400, licapi.MsgNoMachine},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want(t, e.post(tc.path, tc.body, ""), tc.status, false, tc.msg)
		})
	}
	resp, err := http.Get(e.srv.URL + licapi.PathVerify)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET verify: %d", resp.StatusCode)
	}
}

func TestDeviceLimit(t *testing.T) {
	e := newEnv(t, envOpts{})
	l := e.issue(IssueRequest{MaxDevices: ptr(int64(2))})
	want(t, e.verify(l.Key, m1, ""), 200, true, licapi.MsgVerifyOK)
	r := e.verify(l.Key, m2, licapi.DeviceInfoHeartbeat+m2) // a heartbeat may bind (pending activations retry that way)
	want(t, r, 200, true, licapi.MsgVerifyOK)
	if r.license()["currentDevices"] != 2.0 {
		t.Fatalf("currentDevices %v", r.license()["currentDevices"])
	}
	want(t, e.verify(l.Key, m3, ""), 403, false, licapi.MsgDeviceLimit)
	// Bound machines keep working, activation or heartbeat.
	want(t, e.verify(l.Key, m1, ""), 200, true, licapi.MsgVerifyOK)
	r = e.verify(l.Key, m2, licapi.DeviceInfoHeartbeat+m2)
	want(t, r, 200, true, licapi.MsgVerifyOK)
	if r.license()["currentUses"] != 2.0 {
		t.Fatalf("currentUses %v, want 2 (one per binding)", r.license()["currentUses"])
	}
	// Unbinding frees a slot.
	if _, err := e.admin.UnbindDevice(context.Background(), l.Key, m1); err != nil {
		t.Fatal(err)
	}
	want(t, e.verify(l.Key, m3, ""), 200, true, licapi.MsgVerifyOK)
}

func TestMaxUses(t *testing.T) {
	e := newEnv(t, envOpts{})
	l := e.issue(IssueRequest{MaxDevices: ptr(int64(0)), MaxUses: ptr(int64(2))})
	want(t, e.verify(l.Key, m1, ""), 200, true, licapi.MsgVerifyOK)
	want(t, e.verify(l.Key, m2, ""), 200, true, licapi.MsgVerifyOK)
	want(t, e.verify(l.Key, m3, ""), 403, false, licapi.MsgUseLimit)
	want(t, e.verify(l.Key, m1, ""), 200, true, licapi.MsgVerifyOK)
}

func TestSuspendResumeRevokeExpire(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	l := e.issue(IssueRequest{ExpiresAt: ptr(e.clock.Now().Add(48 * time.Hour))})
	want(t, e.verify(l.Key, m1, ""), 200, true, licapi.MsgVerifyOK)

	if _, err := e.admin.SetKeyStatus(ctx, l.Key, ActionSuspend); err != nil {
		t.Fatal(err)
	}
	r := e.verify(l.Key, m1, licapi.DeviceInfoHeartbeat+m1)
	want(t, r, 403, false, licapi.MsgSuspended)
	if r.m["details"] != "license_suspended" {
		t.Fatalf("details %v", r.m["details"])
	}
	want(t, e.switchDevice(l.Key, m1, m2), 403, false, licapi.MsgSuspended)

	if _, err := e.admin.SetKeyStatus(ctx, l.Key, ActionResume); err != nil {
		t.Fatal(err)
	}
	want(t, e.verify(l.Key, m1, ""), 200, true, licapi.MsgVerifyOK)

	e.clock.Add(48 * time.Hour)
	want(t, e.verify(l.Key, m1, ""), 403, false, licapi.MsgExpired)
	e.clock.Add(-time.Hour)

	if _, err := e.admin.SetKeyStatus(ctx, l.Key, ActionRevoke); err != nil {
		t.Fatal(err)
	}
	want(t, e.verify(l.Key, m1, ""), 403, false, licapi.MsgRevoked)
	if _, err := e.admin.SetKeyStatus(ctx, l.Key, ActionResume); !errors.Is(err, ErrRevokedFinal) {
		t.Fatalf("resume after revoke: %v", err)
	}
	got, err := e.admin.GetKey(ctx, strings.ToLower(l.Key))
	if err != nil || got.Status != store.StatusRevoked {
		t.Fatalf("GetKey: %+v %v", got.Status, err)
	}
}

func TestSwitchDevice(t *testing.T) {
	e := newEnv(t, envOpts{})
	l := e.issue(IssueRequest{}) // maxDevices 1
	want(t, e.verify(l.Key, m1, ""), 200, true, licapi.MsgVerifyOK)
	e.clock.Add(time.Hour)

	r := e.switchDevice(l.Key, m1, m2)
	want(t, r, 200, true, licapi.MsgSwitchOK)
	if r.license()["activatedAt"] != "2026-03-01 09:00:00" || r.license()["currentDevices"] != 1.0 {
		t.Fatalf("license after switch: %v", r.license())
	}
	want(t, e.verify(l.Key, m2, licapi.DeviceInfoHeartbeat+m2), 200, true, licapi.MsgVerifyOK)
	// The old machine is restricted: its heartbeat is refused...
	want(t, e.verify(l.Key, m1, licapi.DeviceInfoHeartbeat+m1), 403, false, licapi.MsgDeviceSwitched)
	// ...and an explicit re-activation hits the device limit.
	want(t, e.verify(l.Key, m1, ""), 403, false, licapi.MsgDeviceLimit)
	// A retried switch (lost answer) succeeds again.
	want(t, e.switchDevice(l.Key, m1, m2), 200, true, licapi.MsgSwitchOK)
	// Switching from a machine that is not bound is refused.
	want(t, e.switchDevice(l.Key, m3, "server_4444444444444444"), 403, false, licapi.MsgOldNotBound)
	unknown, _ := lickey.New(nil)
	want(t, e.switchDevice(unknown, m2, m3), 404, false, licapi.MsgNotFound)
	// And back.
	want(t, e.switchDevice(l.Key, m2, m1), 200, true, licapi.MsgSwitchOK)
	want(t, e.verify(l.Key, m1, licapi.DeviceInfoHeartbeat+m1), 200, true, licapi.MsgVerifyOK)
	want(t, e.verify(l.Key, m2, licapi.DeviceInfoHeartbeat+m2), 403, false, licapi.MsgDeviceSwitched)
}

func TestRateLimits(t *testing.T) {
	t.Run("churn", func(t *testing.T) {
		e := newEnv(t, envOpts{churn: Rate{Burst: 2, Every: time.Hour}})
		l := e.issue(IssueRequest{MaxDevices: ptr(int64(0))})
		want(t, e.verify(l.Key, m1, ""), 200, true, licapi.MsgVerifyOK)
		want(t, e.verify(l.Key, m2, ""), 200, true, licapi.MsgVerifyOK)
		r := e.verify(l.Key, m3, "")
		want(t, r, 429, false, licapi.MsgRateLimited)
		if r.header.Get("Retry-After") != "3600" {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
		// Bound machines are not churn.
		want(t, e.verify(l.Key, m1, licapi.DeviceInfoHeartbeat+m1), 200, true, licapi.MsgVerifyOK)
		// A switch is churn too.
		want(t, e.switchDevice(l.Key, m1, m3), 429, false, licapi.MsgRateLimited)
		// Another key has its own bucket.
		l2 := e.issue(IssueRequest{})
		want(t, e.verify(l2.Key, m3, ""), 200, true, licapi.MsgVerifyOK)
		e.clock.Add(time.Hour)
		want(t, e.verify(l.Key, m3, ""), 200, true, licapi.MsgVerifyOK)
		want(t, e.switchDevice(l.Key, m1, "server_4444444444444444"), 429, false, licapi.MsgRateLimited)
	})
	t.Run("requests", func(t *testing.T) {
		e := newEnv(t, envOpts{reqs: Rate{Burst: 3, Every: time.Minute}})
		l := e.issue(IssueRequest{})
		for range 3 {
			want(t, e.verify(l.Key, m1, ""), 200, true, licapi.MsgVerifyOK)
		}
		want(t, e.verify(l.Key, m1, ""), 429, false, licapi.MsgRateLimited)
		e.clock.Add(time.Minute)
		want(t, e.verify(l.Key, m1, ""), 200, true, licapi.MsgVerifyOK)
	})
}

func TestLimiterClockBack(t *testing.T) {
	lim := newLimiter(Rate{Burst: 1, Every: time.Minute})
	now := time.Unix(1000, 0)
	if ok, _ := lim.allow("k", now); !ok {
		t.Fatal("first")
	}
	if ok, _ := lim.allow("k", now.Add(-time.Hour)); ok {
		t.Fatal("a clock turned back must not refill")
	}
	if ok, wait := lim.allow("k", now.Add(30*time.Second)); ok || wait != 30*time.Second {
		t.Fatalf("half refilled: ok=%v wait=%s", ok, wait)
	}
	if ok, _ := lim.allow("k", now.Add(time.Minute)); !ok {
		t.Fatal("refilled")
	}
}

// Concurrent activations never bind more than maxDevices machines.
func TestConcurrentActivations(t *testing.T) {
	e := newEnv(t, envOpts{})
	l := e.issue(IssueRequest{MaxDevices: ptr(int64(5))})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 20 {
		wg.Go(func() {
			r := e.verify(l.Key, fmt.Sprintf("server_%016d", i), "")
			mu.Lock()
			codes[r.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[200] != 5 || codes[403] != 15 {
		t.Fatalf("status counts %v, want 5×200 and 15×403", codes)
	}
	got, _ := e.admin.GetKey(context.Background(), l.Key)
	if len(got.Devices) != 5 {
		t.Fatalf("%d devices bound", len(got.Devices))
	}
}

// The signature round trip through the real HTTP server, checked by the
// client's Verifier.
func TestSignedAnswers(t *testing.T) {
	e := newEnv(t, envOpts{})
	l := e.issue(IssueRequest{})
	vclock := &fakeClock{t: e.clock.Now()}
	v, err := signing.NewVerifier(signing.VerifierConfig{PublicKeys: []ed25519.PublicKey{e.pub}, Clock: vclock})
	if err != nil {
		t.Fatal(err)
	}
	send := func(path string, body any, machine string) (reply, string) {
		n, err := v.NewNonce()
		if err != nil {
			t.Fatal(err)
		}
		return e.post(path, body, n), n
	}

	r, n := send(licapi.PathVerify, licapi.VerifyRequest{LicenseKey: l.Key, MachineID: m1, DeviceInfo: licapi.DeviceInfoActivation + m1}, m1)
	want(t, r, 200, true, licapi.MsgVerifyOK)
	if err := v.Verify(licapi.PathVerify, m1, n, r.header, r.body); err != nil {
		t.Fatalf("verify answer: %v", err)
	}
	// Replaying the same answer is refused.
	if err := v.Verify(licapi.PathVerify, m1, n, r.header, r.body); !errors.Is(err, signing.ErrReplayed) {
		t.Fatalf("replay: %v", err)
	}
	// Replaying an old answer for a new request fails the signature.
	n2, _ := v.NewNonce()
	if err := v.Verify(licapi.PathVerify, m1, n2, r.header, r.body); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("old answer for a new nonce: %v", err)
	}

	// Rejections are signed too; a tampered body is refused.
	r, n = send(licapi.PathVerify, licapi.VerifyRequest{LicenseKey: l.Key, MachineID: m2}, m2)
	want(t, r, 403, false, licapi.MsgDeviceLimit)
	forged := []byte(strings.Replace(string(r.body), `"success":false`, `"success":true `, 1))
	if err := v.Verify(licapi.PathVerify, m2, n, r.header, forged); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("tampered: %v", err)
	}

	// switch-device answers are signed over oldMachineId, the caller.
	r, n = send(licapi.PathSwitchDevice, licapi.SwitchRequest{LicenseKey: l.Key, OldMachineID: m1, NewMachineID: m2}, m1)
	want(t, r, 200, true, licapi.MsgSwitchOK)
	if err := v.Verify(licapi.PathSwitchDevice, m1, n, r.header, r.body); err != nil {
		t.Fatalf("switch answer: %v", err)
	}

	// Another server's key is refused.
	otherPub, _, _ := signing.GenerateKey(nil)
	vo, _ := signing.NewVerifier(signing.VerifierConfig{PublicKeys: []ed25519.PublicKey{otherPub}, Clock: vclock})
	no, _ := vo.NewNonce()
	r = e.post(licapi.PathVerify, licapi.VerifyRequest{LicenseKey: l.Key, MachineID: m2}, no)
	if err := vo.Verify(licapi.PathVerify, m2, no, r.header, r.body); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("wrong key: %v", err)
	}

	// A server clock far from the client's: stale.
	e.clock.Add(10 * time.Minute)
	r, n = send(licapi.PathVerify, licapi.VerifyRequest{LicenseKey: l.Key, MachineID: m2}, m2)
	if err := v.Verify(licapi.PathVerify, m2, n, r.header, r.body); !errors.Is(err, signing.ErrStale) {
		t.Fatalf("stale: %v", err)
	}

	// A client that sends no nonce still gets a plain contract answer.
	want(t, e.verify(l.Key, m2, ""), 200, true, licapi.MsgVerifyOK)
	// A nonce with control characters is refused.
	want(t, e.post(licapi.PathVerify, licapi.VerifyRequest{LicenseKey: l.Key, MachineID: m2}, "a\tb"), 400, false, licapi.MsgBadRequest)
}

func TestAdminAPIAuth(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	for _, tok := range []string{"", "wrong", testToken + "x"} {
		c := &AdminClient{BaseURL: e.srv.URL, Token: tok}
		if _, err := c.ListKeys(ctx, KeyFilter{}); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("token %q: %v", tok, err)
		}
	}
	if _, err := e.admin.IssueKey(ctx, IssueRequest{Type: "nope"}); !errors.Is(err, ErrNoSuchType) {
		t.Fatalf("unknown type: %v", err)
	}
	if _, err := e.admin.AddType(ctx, store.LicenseType{Name: "bad name"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad type name: %v", err)
	}
	e.issue(IssueRequest{})
	if _, err := e.admin.AddType(ctx, store.LicenseType{Name: "pro"}); !errors.Is(err, ErrTypeExists) {
		t.Fatalf("duplicate type: %v", err)
	}
	l := e.issue(IssueRequest{CustomField1: ptr(""), Note: "ACME"})
	if l.CustomField1 != "" || l.CustomField2 != "100" || l.MaxDevices != 1 || l.Note != "ACME" {
		t.Fatalf("issued %+v", l)
	}
	ls, err := e.admin.ListKeys(ctx, KeyFilter{Type: "pro", Status: store.StatusActive})
	if err != nil || len(ls) != 2 {
		t.Fatalf("ListKeys: %d %v", len(ls), err)
	}
	ts, err := e.admin.ListTypes(ctx)
	if err != nil || len(ts) != 1 || ts[0].DisplayName != "专业版" {
		t.Fatalf("ListTypes: %+v %v", ts, err)
	}
	if _, err := e.admin.GetKey(ctx, "LH-nope"); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("GetKey bad: %v", err)
	}
	if _, err := e.admin.UnbindDevice(ctx, l.Key, m1); !errors.Is(err, ErrNoSuchDevice) {
		t.Fatalf("unbind: %v", err)
	}
}

// Every admin and client action lands in the audit log.
func TestAuditLog(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	l := e.issue(IssueRequest{})
	e.verify(l.Key, m1, "")
	e.verify(l.Key, m2, "")
	e.switchDevice(l.Key, m1, m3)
	e.admin.SetKeyStatus(ctx, l.Key, ActionSuspend)
	e.verify("garbage", m1, "")

	all, err := e.admin.AuditLog(ctx, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range all {
		got = append(got, a.Action+":"+a.Outcome)
	}
	slices.Reverse(got)
	wantLog := []string{"init:ok", "type.add:ok", "key.issue:ok", "verify:ok", "verify:" + licapi.MsgDeviceLimit,
		"switch-device:ok", "key.suspend:ok", "verify:" + licapi.MsgNotFound}
	if !slices.Equal(got, wantLog) {
		t.Fatalf("audit log\n got %v\nwant %v", got, wantLog)
	}
	mine, _ := e.admin.AuditLog(ctx, 100, l.Key)
	if len(mine) != 5 {
		t.Fatalf("%d entries for the key, want 5", len(mine))
	}
	if all[0].Seq <= all[1].Seq || !strings.HasPrefix(all[1].Actor, "admin-api") {
		t.Fatalf("order/actor: %+v", all[:2])
	}
}
