package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/hostclient"
)

type harness struct {
	t        *testing.T
	v        *View
	w        fyne.Window
	f        *fakeClient
	statuses []*api.Status
	problems []Problem
}

// newHarness builds a View over f in a test window and loads the status.
func newHarness(t *testing.T, f *fakeClient) *harness {
	t.Helper()
	h := newView(t, f, Options{}, fyne.NewSize(640, 720))
	h.v.RefreshStatus()
	h.v.wait()
	return h
}

// newView builds a View over f with opt in a test window of size; the
// harness records what it reports through OnStatus.
func newView(t *testing.T, f *fakeClient, opt Options, size fyne.Size) *harness {
	t.Helper()
	test.NewTempApp(t)
	if err := LoadTranslations(); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, f: f}
	h.w = test.NewTempWindow(t, nil)
	opt.OnStatus = func(st *api.Status, p Problem) {
		h.statuses = append(h.statuses, st)
		h.problems = append(h.problems, p)
	}
	h.v = New(h.w, f, opt)
	t.Cleanup(h.v.Close)
	h.w.SetContent(h.v.Content())
	h.w.Resize(size)
	return h
}

func statusOnly(st *api.Status) *fakeClient {
	return &fakeClient{StatusFn: func(context.Context) (*api.Status, error) { return st, nil }}
}

// tap taps a button and waits for the calls it started.
func (h *harness) tap(b *widget.Button) {
	h.t.Helper()
	if b.Disabled() {
		h.t.Fatalf("button %q is disabled", b.Text)
	}
	test.Tap(b)
	h.v.wait()
}

// dialogButton finds a button of the dialog on top of the window.
func (h *harness) dialogButton(label string) *widget.Button {
	h.t.Helper()
	top := h.w.Canvas().Overlays().Top()
	if top == nil {
		h.t.Fatalf("no dialog shown (looking for %q)", label)
	}
	for _, o := range test.LaidOutObjects(top) {
		if b, ok := o.(*widget.Button); ok && b.Text == label {
			return b
		}
	}
	h.t.Fatalf("dialog has no %q button", label)
	return nil
}

// badgeStatus reads the badge under the UI lock.
func (h *harness) badgeStatus() string {
	h.v.uiMu.Lock()
	defer h.v.uiMu.Unlock()
	return h.v.badge.status
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, want it to contain %q", what, got, w)
		}
	}
}

func TestStatusCardActive(t *testing.T) {
	h := newHarness(t, statusOnly(activeStatus()))
	v := h.v
	if v.machineID.Text != testMachineID || v.actMachineID.Text != testMachineID {
		t.Errorf("machine code %q / %q", v.machineID.Text, v.actMachineID.Text)
	}
	if v.edition.Text != "终生赞助版" || v.licenseKey.Text != "my-9…4c5f" {
		t.Errorf("edition %q key %q", v.edition.Text, v.licenseKey.Text)
	}
	if v.badge.status != "active" || v.badge.text.Text != "Active" {
		t.Errorf("badge %q %q", v.badge.status, v.badge.text.Text)
	}
	if v.grace.text() != "" || v.problem.text() != "" || v.banner.text() != "" {
		t.Errorf("unexpected notices: grace %q problem %q banner %q", v.grace.text(), v.problem.text(), v.banner.text())
	}
	wantContains(t, "last refresh", v.lastRefresh.Text, "Last refresh: OK", "HTTP 200", formatTime(refreshedAt))
	if v.goActivate.Visible() || v.clearBtn.Disabled() || v.refreshBtn.Disabled() {
		t.Errorf("buttons: activate visible %v, clear disabled %v, refresh disabled %v",
			v.goActivate.Visible(), v.clearBtn.Disabled(), v.refreshBtn.Disabled())
	}
	for label, want := range map[string]string{
		"Application": "密钥管理系统", "License type": "终生赞助版", "Total quota": "500",
		"Batch quota": "unlimited", "Devices (used / max)": "1 / 1", "Uses (used / max)": "8 / 999999",
		"Custom field 3": "10", "License key": "my-9…4c5f", "Client IP": "1.2.3.4",
		"Activated": "2025-08-09 08:29:19 (UTC)",
	} {
		if got := v.details.value(label); got != want {
			t.Errorf("details %q = %q, want %q", label, got, want)
		}
	}
	if len(h.statuses) != 1 || h.statuses[0] == nil || h.problems[0].Kind != KindNone {
		t.Errorf("OnStatus got %v %v", h.statuses, h.problems)
	}
}

func TestStatusCardGrace(t *testing.T) {
	h := newHarness(t, statusOnly(graceStatus(12.3)))
	v := h.v
	if v.badge.status != "grace" {
		t.Errorf("badge %q", v.badge.status)
	}
	wantContains(t, "grace notice", v.grace.text(),
		"Verification is currently failing, please refresh later. Grace period: 13 days left; everything keeps working meanwhile, then the installation falls back to the community edition.",
		"(until ")
	wantContains(t, "last refresh", v.lastRefresh.Text, "Last refresh: failed", "HTTP 503", "Service Unavailable")
	if strings.Contains(v.grace.text(), "capped at 20") {
		t.Error("plain grace mentions the batch cap")
	}
}

func TestStatusCardGraceLimited(t *testing.T) {
	st := graceStatus(0.2)
	st.Status = "grace_limited"
	h := newHarness(t, statusOnly(st))
	wantContains(t, "grace notice", h.v.grace.text(), "Grace period: 1 days left", "capped at 20")
	if h.v.badge.text.Text != "Grace period (limited)" {
		t.Errorf("badge %q", h.v.badge.text.Text)
	}
}

func TestStatusCardCommunity(t *testing.T) {
	h := newHarness(t, statusOnly(communityStatus()))
	v := h.v
	if v.badge.text.Text != "Not activated" || v.edition.Text != "Community edition" || v.licenseKey.Text != "none" {
		t.Errorf("badge %q edition %q key %q", v.badge.text.Text, v.edition.Text, v.licenseKey.Text)
	}
	if !v.goActivate.Visible() || !v.clearBtn.Disabled() || !v.switchBtn.Disabled() {
		t.Error("community: want Activate… shown, Clear and Switch disabled")
	}
	if v.details.caption.Text != "No license details." || len(v.details.rows) != 0 {
		t.Errorf("details %q %v", v.details.caption.Text, v.details.rows)
	}
	h.tap(v.goActivate)
	if v.tabs.SelectedIndex() != int(TabActivate) {
		t.Errorf("Activate… selected tab %d", v.tabs.SelectedIndex())
	}
}

func TestStatusProblems(t *testing.T) {
	tests := []struct {
		status, reason string
		want           []string
	}{
		{"expired", "machine_changed", []string{"License key mismatch", testMachineID, "Switch device", "activate it again"}},
		{"expired", "grace_over", []string{"Grace period over", "community edition"}},
		{"expired", "license_expired", []string{"The license has expired"}},
		{"pending", "never_verified", []string{"Not verified yet", "Refresh now"}},
		{"switching", "switched_away", []string{"Moving to another machine", "server_fedcba9876543210"}},
		{"community", "switch_window_over", []string{"The license moved to another machine"}},
	}
	for _, tt := range tests {
		t.Run(tt.status+"/"+tt.reason, func(t *testing.T) {
			st := activeStatus()
			st.Status, st.Reason, st.SwitchedTo = tt.status, tt.reason, "server_fedcba9876543210"
			st.IsSponsored = tt.status == "switching"
			h := newHarness(t, statusOnly(st))
			wantContains(t, "problem", h.v.problem.text(), tt.want...)
			if tt.reason == "machine_changed" && h.v.problem.problem.Kind != KindMismatch {
				t.Errorf("kind %v", h.v.problem.problem.Kind)
			}
		})
	}
}

func TestCopyMachineCode(t *testing.T) {
	h := newHarness(t, statusOnly(activeStatus()))
	h.tap(h.v.copyBtn)
	if got := fyne.CurrentApp().Clipboard().Content(); got != testMachineID {
		t.Errorf("clipboard %q", got)
	}
	if h.v.copyNote.Text != "Copied" {
		t.Errorf("copy note %q", h.v.copyNote.Text)
	}
	fyne.CurrentApp().Clipboard().SetContent("")
	h.tap(h.v.actCopyBtn)
	if got := fyne.CurrentApp().Clipboard().Content(); got != testMachineID {
		t.Errorf("clipboard from the activation tab %q", got)
	}
}

func TestHostProblemsBanner(t *testing.T) {
	refused := &hostclient.NotRunningError{BaseURL: hostclient.DefaultBaseURL, Err: &net.OpError{Op: "dial", Err: fmt.Errorf("connection refused")}}
	unauthorized := &hostclient.APIError{StatusCode: 401, Body: api.Error{Error: "unauthorized"}}
	tests := []struct {
		name string
		err  error
		kind Kind
		want []string
	}{
		{"not running", refused, KindHostDown, []string{"The license host is not running", "`licensehost`", "`make run`"}},
		{"wrong token", unauthorized, KindUnauthorized, []string{"Wrong token", "admin.token", "--token-file"}},
		{"timeout", fmt.Errorf("x: %w", context.DeadlineExceeded), KindTimeout, []string{"did not answer in time"}},
		{"other", fmt.Errorf("boom"), KindOther, []string{"Something went wrong", "boom"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeClient{StatusFn: func(context.Context) (*api.Status, error) { return nil, tt.err }}
			h := newHarness(t, f)
			wantContains(t, "banner", h.v.banner.text(), tt.want...)
			if len(h.statuses) != 1 || h.statuses[0] != nil || h.problems[0].Kind != tt.kind {
				t.Errorf("OnStatus got %v %+v", h.statuses, h.problems)
			}
			// Once the host answers, the banner goes.
			f.StatusFn = func(context.Context) (*api.Status, error) { return activeStatus(), nil }
			h.v.RefreshStatus()
			h.v.wait()
			if h.v.banner.text() != "" {
				t.Errorf("banner stayed: %q", h.v.banner.text())
			}
		})
	}
}

func TestActivationShowsRemoteDetailsFirstAndKeepsThem(t *testing.T) {
	f := statusOnly(communityStatus())
	h := newHarness(t, f)
	// After activation the status shows a cached license that differs: it
	// must not overwrite what the activation showed.
	cached := activeStatus()
	cached.License = json.RawMessage(`{"applicationName":"cached app","customField1":"1"}`)
	f.StatusFn = func(context.Context) (*api.Status, error) { return cached, nil }
	f.ActivateFn = func(_ context.Context, key string) (*api.ActionResponse, error) { return okAction("active"), nil }

	h.v.ShowTab(TabActivate)
	test.Type(h.v.keyEntry, "  my-9f3c2a7d1e6b4c5f ")
	h.tap(h.v.activateBtn)

	if got := strings.Join(f.Calls(), ","); got != "status,activate:my-9f3c2a7d1e6b4c5f,status" {
		t.Errorf("calls %s", got)
	}
	wantContains(t, "activation result", h.v.activateResult.text(), "License activated", "Active")
	if got := h.v.actDetails.value("Application"); got != "密钥管理系统" {
		t.Errorf("activation details overwritten: application %q", got)
	}
	if got := h.v.actDetails.value("Total quota"); got != "500" {
		t.Errorf("activation details total quota %q", got)
	}
	wantContains(t, "activation caption", h.v.actDetails.caption.Text, "just now")
	if got := h.v.details.value("Application"); got != "cached app" {
		t.Errorf("status details %q", got)
	}
	if h.v.badge.status != "active" || h.v.keyEntry.Text != "" {
		t.Errorf("badge %q, key entry %q", h.v.badge.status, h.v.keyEntry.Text)
	}
	if h.v.activateBtn.Disabled() {
		t.Error("activate button stays disabled")
	}
}

func TestActivationEmptyKey(t *testing.T) {
	f := statusOnly(communityStatus())
	h := newHarness(t, f)
	h.tap(h.v.activateBtn)
	if len(f.Calls()) != 1 {
		t.Errorf("calls %v", f.Calls())
	}
	wantContains(t, "result", h.v.activateResult.text(), "Enter a license key")
}

func TestActivationErrors(t *testing.T) {
	mismatch := api.ActionResponse{
		Status: "community", Message: "License key mismatch", Definitive: true,
		RemoteError: &api.RemoteError{HTTPStatus: 403, Message: "License key mismatch"},
		Fallback:    &api.Fallback{Status: "community"},
	}
	unknown := api.ActionResponse{
		Status: "community", Message: "密钥不存在", Definitive: true,
		RemoteError: &api.RemoteError{HTTPStatus: 404, Message: "密钥不存在", Data: json.RawMessage(`{"success":false,"message":"密钥不存在","details":"..."}`)},
		Fallback:    &api.Fallback{Status: "community"},
	}
	down := api.ActionResponse{
		Status: "grace", Message: "license server unreachable",
		RemoteError: &api.RemoteError{HTTPStatus: 0, Message: "dial tcp: i/o timeout"},
		Fallback:    &api.Fallback{IsSponsored: true, Status: "grace"},
	}
	tests := []struct {
		name string
		err  error
		kind Kind
		want []string
	}{
		{"bad format", actionErr("activate", 400, api.ActionResponse{Status: "community", Message: "Invalid license key format"}),
			KindBadKeyFormat, []string{"Invalid license key format", "Copy the whole key"}},
		{"mismatch", actionErr("activate", 422, mismatch), KindMismatch,
			[]string{"License key mismatch", "HTTP 403", testMachineID, "Switch device", "Not activated"}},
		{"unknown key", actionErr("activate", 422, unknown), KindInvalidKey,
			[]string{"Invalid license key", "HTTP 404", "密钥不存在", "rejected this key"}},
		{"server down", actionErr("activate", 502, down), KindNoAnswer,
			[]string{"No answer from the license server", "no HTTP answer", "i/o timeout", "keeps working", "Grace period"}},
		{"host down", &hostclient.NotRunningError{BaseURL: "http://127.0.0.1:7474", Err: fmt.Errorf("refused")}, KindHostDown,
			[]string{"not running", "make run"}},
		{"wrong token", &hostclient.APIError{StatusCode: 401}, KindUnauthorized, []string{"Wrong token"}},
		{"read-only token", &hostclient.APIError{StatusCode: 403}, KindForbidden, []string{"admin token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := statusOnly(communityStatus())
			f.ActivateFn = func(context.Context, string) (*api.ActionResponse, error) { return nil, tt.err }
			h := newHarness(t, f)
			test.Type(h.v.keyEntry, "my-key-123456")
			h.tap(h.v.activateBtn)
			wantContains(t, "activation result", h.v.activateResult.text(), tt.want...)
			if h.v.activateResult.problem.Kind != tt.kind {
				t.Errorf("kind %v, want %v", h.v.activateResult.problem.Kind, tt.kind)
			}
			if got := f.Calls(); len(got) != 3 || got[2] != "status" {
				t.Errorf("calls %v: want the status re-read after a failure too", got)
			}
			if h.v.keyEntry.Text != "my-key-123456" {
				t.Errorf("a failed activation cleared the key entry")
			}
		})
	}
}

func TestManualRefresh(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		f := statusOnly(graceStatus(3))
		f.HeartbeatFn = func(context.Context) (*api.ActionResponse, error) { return okAction("active"), nil }
		h := newHarness(t, f)
		f.StatusFn = func(context.Context) (*api.Status, error) { return activeStatus(), nil }
		h.tap(h.v.refreshBtn)
		if got := strings.Join(f.Calls(), ","); got != "status,heartbeat,status" {
			t.Errorf("calls %s", got)
		}
		wantContains(t, "note", h.v.actionNote.text(), "Verified with the license server", "Active")
		if h.v.grace.text() != "" || h.v.badge.status != "active" {
			t.Errorf("grace %q badge %q", h.v.grace.text(), h.v.badge.status)
		}
		wantContains(t, "last refresh", h.v.lastRefresh.Text, "OK", "HTTP 200")
	})
	t.Run("failing", func(t *testing.T) {
		f := statusOnly(graceStatus(3))
		f.HeartbeatFn = func(context.Context) (*api.ActionResponse, error) {
			return nil, actionErr("heartbeat", 502, api.ActionResponse{Status: "grace", Message: "upstream 503",
				RemoteError: &api.RemoteError{HTTPStatus: 503, Message: "Service Unavailable"}, Fallback: &api.Fallback{IsSponsored: true, Status: "grace"}})
		}
		h := newHarness(t, f)
		h.tap(h.v.refreshBtn)
		wantContains(t, "note", h.v.actionNote.text(), "No answer from the license server", "HTTP 503", "keeps working")
		wantContains(t, "grace", h.v.grace.text(), "3 days left")
		wantContains(t, "last refresh", h.v.lastRefresh.Text, "failed", "HTTP 503")
	})
	t.Run("rejected", func(t *testing.T) {
		f := statusOnly(activeStatus())
		f.HeartbeatFn = func(context.Context) (*api.ActionResponse, error) {
			return nil, actionErr("heartbeat", 422, api.ActionResponse{Status: "grace", Message: "密钥已被暂停", Definitive: true,
				RemoteError: &api.RemoteError{HTTPStatus: 403, Message: "密钥已被暂停"}})
		}
		h := newHarness(t, f)
		h.tap(h.v.refreshBtn)
		wantContains(t, "note", h.v.actionNote.text(), "Invalid license key", "密钥已被暂停", "HTTP 403")
	})
	t.Run("no key: status only", func(t *testing.T) {
		f := statusOnly(communityStatus())
		h := newHarness(t, f)
		h.tap(h.v.refreshBtn)
		if got := strings.Join(f.Calls(), ","); got != "status,status" {
			t.Errorf("calls %s", got)
		}
	})
}

func TestClearLicense(t *testing.T) {
	f := statusOnly(activeStatus())
	f.ClearFn = func(context.Context) (*api.ActionResponse, error) {
		return &api.ActionResponse{Success: true, Status: "community"}, nil
	}
	h := newHarness(t, f)

	// Cancel: nothing happens.
	h.tap(h.v.clearBtn)
	h.tap(h.dialogButton("Cancel"))
	if len(f.Calls()) != 1 {
		t.Fatalf("cancel made calls %v", f.Calls())
	}

	f.StatusFn = func(context.Context) (*api.Status, error) { return communityStatus(), nil }
	h.tap(h.v.clearBtn)
	h.tap(h.dialogButton("Clear license"))
	if got := strings.Join(f.Calls(), ","); got != "status,clear,status" {
		t.Errorf("calls %s", got)
	}
	wantContains(t, "note", h.v.actionNote.text(), "License cleared")
	if h.v.badge.status != "community" || !h.v.clearBtn.Disabled() {
		t.Errorf("after clear: badge %q clear enabled %v", h.v.badge.status, !h.v.clearBtn.Disabled())
	}
}

func TestClearFails(t *testing.T) {
	f := statusOnly(activeStatus())
	f.ClearFn = func(context.Context) (*api.ActionResponse, error) { return nil, &hostclient.APIError{StatusCode: 403} }
	h := newHarness(t, f)
	h.tap(h.v.clearBtn)
	h.tap(h.dialogButton("Clear license"))
	wantContains(t, "note", h.v.actionNote.text(), "This token may not do that")
}

func TestSwitchDevice(t *testing.T) {
	f := statusOnly(activeStatus())
	h := newHarness(t, f)
	v := h.v
	v.ShowTab(TabSwitch)
	for _, bad := range []string{"server_0123", "SERVER_0123456789ABCDEF", "server_0123456789abcdeg", testMachineID, "x server_fedcba9876543210"} {
		v.newIDEntry.SetText(bad)
		if !v.switchBtn.Disabled() {
			t.Errorf("switch enabled for %q", bad)
		}
		if v.newIDEntry.Validate() == nil {
			t.Errorf("validator accepted %q", bad)
		}
	}
	v.newIDEntry.SetText("")
	test.Type(v.newIDEntry, "server_fedcba9876543210")
	test.Type(v.reasonEntry, "new server")
	if v.switchBtn.Disabled() {
		t.Fatal("switch disabled for a valid code")
	}
	f.SwitchDeviceFn = func(_ context.Context, id, reason string) (*api.ActionResponse, error) {
		return &api.ActionResponse{Success: true, Status: "switching"}, nil
	}
	h.tap(v.switchBtn)
	h.tap(h.dialogButton("Cancel"))
	if len(f.Calls()) != 1 {
		t.Fatalf("cancel made calls %v", f.Calls())
	}
	switching := activeStatus()
	switching.Status, switching.Reason, switching.SwitchedTo = "switching", "switched_away", "server_fedcba9876543210"
	f.StatusFn = func(context.Context) (*api.Status, error) { return switching, nil }
	h.tap(v.switchBtn)
	h.tap(h.dialogButton("Move license"))
	if got := strings.Join(f.Calls(), ","); got != "status,switch:server_fedcba9876543210:new server,status" {
		t.Errorf("calls %s", got)
	}
	wantContains(t, "switch result", v.switchResult.text(), "server_fedcba9876543210", "Switching device")
	wantContains(t, "problem", v.problem.text(), "Moving to another machine")
}

func TestSwitchDeviceErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"bad code", actionErr("device-switch", 400, api.ActionResponse{Message: "invalid machine code: want server_ followed by 16 lowercase hex characters"}),
			[]string{"The request was refused", "invalid machine code"}},
		{"rejected", actionErr("device-switch", 422, api.ActionResponse{Message: "设备切换次数已达上限", Definitive: true,
			RemoteError: &api.RemoteError{HTTPStatus: 403, Message: "设备切换次数已达上限"}}), []string{"Invalid license key", "设备切换次数已达上限"}},
		{"no license", actionErr("device-switch", 409, api.ActionResponse{Message: "no license key is stored; activate one first"}),
			[]string{"No license is stored"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := statusOnly(activeStatus())
			f.SwitchDeviceFn = func(context.Context, string, string) (*api.ActionResponse, error) { return nil, tt.err }
			h := newHarness(t, f)
			test.Type(h.v.newIDEntry, "server_fedcba9876543210")
			h.tap(h.v.switchBtn)
			h.tap(h.dialogButton("Move license"))
			wantContains(t, "switch result", h.v.switchResult.text(), tt.want...)
		})
	}
}

// An older status read that answers late must not overwrite a newer one.
func TestStaleStatusIgnored(t *testing.T) {
	f := statusOnly(communityStatus())
	h := newHarness(t, f)
	release := make(chan struct{})
	first := true
	entered := make(chan struct{})
	f.StatusFn = func(context.Context) (*api.Status, error) {
		if first {
			first = false
			close(entered)
			<-release
			return graceStatus(1), nil // old news
		}
		return activeStatus(), nil
	}
	h.v.RefreshStatus() // blocks in the fake
	<-entered
	h.v.RefreshStatus()
	deadline := time.Now().Add(10 * time.Second)
	for h.badgeStatus() != "active" {
		if time.Now().After(deadline) {
			t.Fatal("the newer read was never applied")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	h.v.wait()
	if h.v.badge.status != "active" {
		t.Errorf("stale read applied: badge %q", h.v.badge.status)
	}
}

func TestLenientLicense(t *testing.T) {
	for _, raw := range []string{``, `null`, `"x"`, `[]`, `{`, `{"maxUses":"9","currentUses":null,"expiresAt":12,"customField1":null,"customField2":{"a":1},"status":true}`} {
		rows := parseLicense(json.RawMessage(raw)).rows()
		_ = rows // must not panic
	}
	l := parseLicense(json.RawMessage(`{"customField1":null,"customField2":20,"expiresAt":"not a date"}`))
	got := map[string]string{}
	for _, r := range l.rows() {
		got[r.Label] = r.Value
	}
	if got["Total quota"] != "unlimited" || got["Batch quota"] != "20" || got["Expires"] != "not a date" {
		t.Errorf("rows %v", got)
	}
}

func TestGraceDays(t *testing.T) {
	for in, want := range map[float64]int{0: 0, -1: 0, 0.01: 1, 1: 1, 1.0000000001: 1, 12.3: 13, 15: 15} {
		if got := graceDays(in); got != want {
			t.Errorf("graceDays(%v) = %d, want %d", in, got, want)
		}
	}
}

// A record that disagrees with its seal (docs/reliability.md, "Tamper
// evidence"): badge in words, the host's message and what to do; the setup
// warnings of the status are listed as the host gives them.
func TestStatusCardTamperedAndNotes(t *testing.T) {
	st := communityStatus()
	st.Status, st.Reason, st.IsSponsored = "tampered", "record_tampered", false
	st.LicenseKey = "my-9…4c5f"
	st.Message = "the stored record does not match its seal"
	st.Notes = []string{
		"the license server http://10.0.0.5:8080 is plain http on a non-loopback address",
		"no server key is pinned",
	}
	h := newHarness(t, statusOnly(st))
	v := h.v
	if v.badge.status != "tampered" || v.badge.text.Text != "! Data altered" {
		t.Errorf("badge %q %q", v.badge.status, v.badge.text.Text)
	}
	if bg, _ := badgeColors("tampered"); bg != theme.ColorNameError {
		t.Errorf("tampered badge colour %v", bg)
	}
	if v.problem.problem.Kind != KindTampered {
		t.Errorf("problem kind %v", v.problem.problem.Kind)
	}
	wantContains(t, "problem", v.problem.text(), "Local license data was altered",
		"the stored record does not match its seal", "Refresh now", "clear the license and activate it again")
	wantContains(t, "notes", v.notes.text(), "Setup warnings",
		"• the license server http://10.0.0.5:8080 is plain http on a non-loopback address", "• no server key is pinned")
	if v.clearBtn.Disabled() || v.refreshBtn.Disabled() {
		t.Error("tampered: Refresh now and Clear must stay available")
	}

	// The next status without notes or tampering hides both.
	h.f.StatusFn = func(context.Context) (*api.Status, error) { return activeStatus(), nil }
	h.v.RefreshStatus()
	h.v.wait()
	if v.problem.text() != "" || v.notes.text() != "" {
		t.Errorf("after a genuine status: problem %q notes %q", v.problem.text(), v.notes.text())
	}
}

func TestTamperedInChinese(t *testing.T) {
	st := communityStatus()
	st.Status, st.Reason, st.Message = "tampered", "record_tampered", "seal mismatch"
	test.NewTempApp(t)
	useLocale(t, "zh_CN")
	p := statusProblem(st)
	wantContains(t, "problem", p.String(), "本地许可证数据被改动", "seal mismatch", "立即刷新")
	if got := statusLabel("tampered"); got != "! 数据被改动" {
		t.Errorf("label %q", got)
	}
}
