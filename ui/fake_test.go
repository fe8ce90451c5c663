package ui

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/hostclient"
)

// fakeClient is a hand-written Client: each method calls its function field
// (a nil field panics, so a test states every call it expects) and records
// the call.
type fakeClient struct {
	StatusFn       func(ctx context.Context) (*api.Status, error)
	ActivateFn     func(ctx context.Context, key string) (*api.ActionResponse, error)
	HeartbeatFn    func(ctx context.Context) (*api.ActionResponse, error)
	ClearFn        func(ctx context.Context) (*api.ActionResponse, error)
	SwitchDeviceFn func(ctx context.Context, newID, reason string) (*api.ActionResponse, error)
	RequestFn      func(ctx context.Context, key string) (*api.ActivationFileAnswer, error)
	InstallFn      func(ctx context.Context, file []byte) (*api.InstallAnswer, error)
	ActivationsFn  func(ctx context.Context) (*api.Activations, error)

	mu    sync.Mutex
	calls []string
}

var (
	_ Client = (*fakeClient)(nil)
	_ Client = (*hostclient.Client)(nil)
)

func (f *fakeClient) record(c string) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
}

// Calls returns the calls made so far, in order.
func (f *fakeClient) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeClient) Status(ctx context.Context) (*api.Status, error) {
	f.record("status")
	return f.StatusFn(ctx)
}

func (f *fakeClient) Activate(ctx context.Context, key string) (*api.ActionResponse, error) {
	f.record("activate:" + key)
	return f.ActivateFn(ctx, key)
}

func (f *fakeClient) Heartbeat(ctx context.Context) (*api.ActionResponse, error) {
	f.record("heartbeat")
	return f.HeartbeatFn(ctx)
}

func (f *fakeClient) Clear(ctx context.Context) (*api.ActionResponse, error) {
	f.record("clear")
	return f.ClearFn(ctx)
}

func (f *fakeClient) SwitchDevice(ctx context.Context, newID, reason string) (*api.ActionResponse, error) {
	f.record("switch:" + newID + ":" + reason)
	return f.SwitchDeviceFn(ctx, newID, reason)
}

func (f *fakeClient) ActivationRequest(ctx context.Context, key string) (*api.ActivationFileAnswer, error) {
	f.record("request:" + key)
	return f.RequestFn(ctx, key)
}

func (f *fakeClient) InstallActivation(ctx context.Context, file []byte) (*api.InstallAnswer, error) {
	f.record("install:" + string(file))
	return f.InstallFn(ctx, file)
}

func (f *fakeClient) Activations(ctx context.Context) (*api.Activations, error) {
	f.record("activations")
	return f.ActivationsFn(ctx)
}

// Fixtures: realistic bodies as the host sends them.

const testMachineID = "server_0123456789abcdef"

var refreshedAt = time.Date(2025, 8, 9, 8, 29, 19, 0, time.UTC)

const licenseJSON = `{"licenseKey":"my-9f3c2a7d1e6b4c5f","applicationName":"密钥管理系统","licenseTypeName":"终生赞助版",
"licenseTypeDisplayName":"终生赞助版","status":"active","maxUses":999999,"currentUses":8,"maxDevices":1,
"currentDevices":"1","customField1":"500","customField2":"","customField3":10,"expiresAt":"2125-07-16T08:29:19Z",
"activatedAt":"2025-08-09 08:29:19","timezone":"UTC","clientIP":"1.2.3.4"}`

func ptr[T any](v T) *T { return &v }

func activeStatus() *api.Status {
	return &api.Status{
		MachineID: testMachineID, Edition: "终生赞助版", LicenseKey: "my-9…4c5f",
		Status: "active", IsSponsored: true,
		LastRefresh: &api.LastRefresh{Kind: "heartbeat", Success: true, HTTPStatus: 200, Message: "密钥验证成功", At: refreshedAt},
		License:     json.RawMessage(licenseJSON), TrustDays: 7, GraceDays: 15,
	}
}

func graceStatus(days float64) *api.Status {
	st := activeStatus()
	st.Status, st.Reason = "grace", "remote_failing"
	st.GraceDaysLeft = &days
	st.GraceEndsAt = ptr(refreshedAt.Add(15 * 24 * time.Hour))
	st.Failures = 3
	st.LastRefresh = &api.LastRefresh{Kind: "heartbeat", Success: false, HTTPStatus: 503, Message: "Service Unavailable", At: refreshedAt}
	return st
}

func communityStatus() *api.Status {
	return &api.Status{MachineID: testMachineID, Edition: "community", Status: "community", Reason: "no_license", License: json.RawMessage("null")}
}

func okAction(status string) *api.ActionResponse {
	return &api.ActionResponse{Success: true, Status: status, License: json.RawMessage(licenseJSON), GraceDays: 15, TrustDays: 7}
}

func actionErr(action string, code int, r api.ActionResponse) error {
	return &hostclient.ActionError{Action: action, StatusCode: code, Response: &r}
}
