package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/licensehost/licensehost/internal/licapi"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/api/apitest"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/internal/e2etest"
	"github.com/licensehost/licensehost/internal/remotetest"
)

// These tests run the real licensehost binary as a child process against a
// real loopback license server (remotetest), and talk to it over HTTP.

var hostBin, licensedBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "licensehost-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if hostBin, err = e2etest.Build(dir, "licensehost", "."); err == nil {
		licensedBin, err = e2etest.Build(dir, "licensed", "../licensed")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	e2eKey     = "LH-E2E-ANNUAL-0001"
	e2eKeyLife = "LH-E2E-LIFETIME-0002"
)

type host struct {
	t       testing.TB
	cmd     *exec.Cmd
	dataDir string
	url     string
	token   string
	client  *hostclient.Client
	stderr  *enginetest.SyncBuffer
	done    <-chan struct{}
	args    []string
	daemon  *e2etest.Daemon
}

// startHost runs the daemon on a free loopback port with dataDir.
func startHost(t testing.TB, dataDir string, args ...string) *host {
	t.Helper()
	return startHostBin(t, hostBin, nil, dataDir, args...)
}

// startHostBin runs the daemon binary bin with env added to the environment.
func startHostBin(t testing.TB, bin string, env []string, dataDir string, args ...string) *host {
	t.Helper()
	all := append([]string{"--listen", "127.0.0.1:0", "--data-dir", dataDir}, args...)
	// An empty LICENSEHOST_MACHINE_ID: the daemon computes it.
	d := e2etest.Start(t, bin, append([]string{"LICENSEHOST_MACHINE_ID="}, env...), all...)
	h := &host{t: t, cmd: d.Cmd, dataDir: dataDir, url: d.URL, stderr: d.Stderr, done: d.Done, args: args, daemon: d}
	tok, err := hostclient.ReadTokenFile(filepath.Join(dataDir, api.TokenFileName))
	if err != nil {
		t.Fatalf("token file: %v", err)
	}
	h.token = tok
	// Every answer the tests get is checked against api/openapi.json.
	h.client, err = hostclient.New(h.url, tok, validated(t))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// validated makes a client check every answer against api/openapi.json.
func validated(t testing.TB) hostclient.Option {
	return hostclient.WithHTTPClient(&http.Client{Transport: apitest.Transport(t, nil)})
}

func (h *host) stop() { h.daemon.Stop() }

func (h *host) kill() { h.daemon.Kill() }

func (h *host) status() *api.Status {
	h.t.Helper()
	st, err := h.client.Status(context.Background())
	if err != nil {
		h.t.Fatalf("status: %v", err)
	}
	return st
}

func (h *host) activate(key string) (*api.ActionResponse, error) {
	return h.client.Activate(context.Background(), key)
}

// activatedStore leaves key activated in dir: a host started on it with
// args activates the key and stops.
func activatedStore(t *testing.T, dir, key string, args ...string) {
	t.Helper()
	h := startHost(t, dir, args...)
	h.mustActivate(key)
	h.stop()
}

// mustActivate activates key and fails the test if that fails.
func (h *host) mustActivate(key string) {
	h.t.Helper()
	if _, err := h.activate(key); err != nil {
		h.t.Fatal(err)
	}
}

func newLicenseServer(t testing.TB) *remotetest.Server {
	srv := remotetest.New(t)
	srv.AddLicense(e2eKey, 1, map[string]any{"licenseTypeName": "年度版", "licenseTypeDisplayName": "年度版", "customField1": "50", "customField2": 10})
	srv.AddLicense(e2eKeyLife, 1, map[string]any{"licenseTypeName": "终生赞助版", "customField1": "", "customField2": ""})
	return srv
}

// fast are durations that run a whole trust → grace → expiry cycle in seconds.
func fast(srv *remotetest.Server, trust, grace string) []string {
	return []string{"--license-server", srv.URL(), "--trust", trust, "--grace", grace, "--remote-timeout", "5s"}
}

func actionErr(t *testing.T, err error) *hostclient.ActionError {
	t.Helper()
	var ae *hostclient.ActionError
	if !errors.As(err, &ae) || ae.Response == nil {
		t.Fatalf("want an ActionError, got %v", err)
	}
	return ae
}

// Checklist 1: activation OK shows the remote details; status active.
func TestChecklist1ActivationOK(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), fast(srv, "7", "15")...)
	res, err := h.activate(e2eKey)
	if err != nil || !res.Success || res.Status != "active" || res.GraceDays != 15 || res.TrustDays != 7 {
		t.Fatalf("activate: %+v %v", res, err)
	}
	var lic map[string]any
	if err := json.Unmarshal(res.License, &lic); err != nil || lic["licenseTypeName"] != "年度版" || lic["customField1"] != "50" {
		t.Fatalf("remote details not shown: %s", res.License)
	}
	st := h.status()
	if st.Status != "active" || !st.IsSponsored || st.Edition != "年度版" || st.LicenseKey != "LH-E…0001" {
		t.Fatalf("status: %+v", st)
	}
	if strings.Contains(h.stderr.String(), e2eKey) {
		t.Fatal("the full license key reached the log")
	}
}

// Checklist 2: activation failure shows the remote reason; the status falls
// back to the last local evaluation; the error is recorded.
func TestChecklist2ActivationFailure(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), fast(srv, "7", "15")...)
	_, err := h.activate("LH-NO-SUCH-KEY")
	ae := actionErr(t, err)
	r := ae.Response
	if ae.StatusCode != 422 || r.Success || r.Message != licapi.MsgNotFound || r.RemoteError == nil || r.RemoteError.HTTPStatus != 404 ||
		r.RemoteError.Message != licapi.MsgNotFound || r.Fallback == nil || r.Fallback.Status != "community" || r.Fallback.IsSponsored {
		t.Fatalf("failure body: %d %+v", ae.StatusCode, r)
	}
	var data map[string]any
	if json.Unmarshal(r.RemoteError.Data, &data) != nil || data["message"] != licapi.MsgNotFound {
		t.Fatalf("remoteError.data = %s", r.RemoteError.Data)
	}
	st := h.status()
	if st.Status != "community" || st.LastRefresh == nil || st.LastRefresh.Success || st.LastRefresh.HTTPStatus != 404 {
		t.Fatalf("status after failure: %+v %+v", st, st.LastRefresh)
	}
	// With a license standing, a failing key leaves it active.
	h.mustActivate(e2eKey)
	srv.SetDown(true)
	_, err = h.activate(e2eKeyLife)
	ae = actionErr(t, err)
	if ae.StatusCode != 502 || ae.Response.Fallback.Status != "active" || !ae.Response.Fallback.IsSponsored || ae.Response.RemoteError.HTTPStatus != 0 {
		t.Fatalf("transient failure over a standing license: %d %+v", ae.StatusCode, ae.Response)
	}
	if st := h.status(); st.Status != "active" || st.Edition != "年度版" {
		t.Fatalf("the standing license was disturbed: %+v", st)
	}
	// Bad format: 400 and no remote call.
	srv.SetDown(false)
	srv.ResetRequests()
	_, err = h.activate("bad\u0007key")
	ae = actionErr(t, err)
	if ae.StatusCode != 400 || ae.Response.Message != "Invalid license key format" || len(srv.Requests()) != 0 {
		t.Fatalf("bad format: %d %+v (%d remote requests)", ae.StatusCode, ae.Response, len(srv.Requests()))
	}
}

// Checklist 3: manual refresh OK and failing; last-refresh feedback right.
func TestChecklist3ManualRefresh(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), fast(srv, "7", "15")...)
	h.mustActivate(e2eKey)
	res, err := h.client.Heartbeat(context.Background())
	if err != nil || !res.Success {
		t.Fatalf("refresh: %+v %v", res, err)
	}
	lr := h.status().LastRefresh
	if lr == nil || !lr.Success || lr.HTTPStatus != 200 || lr.Kind != "heartbeat" || lr.Message != licapi.MsgVerifyOK || time.Since(lr.At) > time.Minute {
		t.Fatalf("last refresh after success: %+v", lr)
	}
	srv.SetFault(remotetest.Status5xx(503))
	_, err = h.client.Heartbeat(context.Background())
	ae := actionErr(t, err)
	if ae.StatusCode != 502 || ae.Response.RemoteError.HTTPStatus != 503 || ae.Response.Fallback.Status != "grace" {
		t.Fatalf("failing refresh: %d %+v", ae.StatusCode, ae.Response)
	}
	st := h.status()
	if st.LastRefresh.Success || st.LastRefresh.HTTPStatus != 503 || st.Status != "grace" || st.GraceDaysLeft == nil {
		t.Fatalf("last refresh after failure: %+v %+v", st, st.LastRefresh)
	}
}

// Checklist 4: quotas from customField1/2; unlimited when empty.
func TestChecklist4DynamicQuota(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), fast(srv, "7", "15")...)
	ctx := context.Background()
	h.mustActivate(e2eKey)
	q, err := h.client.QuotaCheck(ctx, api.QuotaCheckRequest{Batch: 11})
	if err != nil || q.Allowed || q.Reason != "batch_exceeded" || *q.Limits.Batch != 10 || *q.Limits.Total != 50 {
		t.Fatalf("batch 11 of 10: %+v %v", q, err)
	}
	for i := range 5 {
		q, err = h.client.QuotaConsume(ctx, api.QuotaConsumeRequest{Batch: 10, IdempotencyKey: fmt.Sprintf("job-%d", i)})
		if err != nil || !q.Allowed || q.Used != int64(10*(i+1)) {
			t.Fatalf("consume %d: %+v %v", i, q, err)
		}
	}
	q, err = h.client.QuotaConsume(ctx, api.QuotaConsumeRequest{Batch: 1})
	if err != nil || q.Allowed || q.Reason != "total_exceeded" || q.Used != 50 {
		t.Fatalf("over the total: %+v %v", q, err)
	}
	q, err = h.client.QuotaConsume(ctx, api.QuotaConsumeRequest{Batch: 10, IdempotencyKey: "job-4"})
	if err != nil || !q.Allowed || !q.Replayed || q.Used != 50 {
		t.Fatalf("replay: %+v %v", q, err)
	}
	h.mustActivate(e2eKeyLife)
	q, err = h.client.QuotaCheck(ctx, api.QuotaCheckRequest{Batch: 100000})
	if err != nil || !q.Allowed || q.Limits.Total != nil || q.Limits.Batch != nil {
		t.Fatalf("unlimited: %+v %v", q, err)
	}
	if st := h.status(); st.Usage.Total != 50 || st.Limits.Total != nil {
		t.Fatalf("status usage/limits: %+v", st)
	}
}

// Checklist 5: community fallback without a license: total 200, batch 20.
func TestChecklist5Community(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), fast(srv, "7", "15")...)
	st := h.status()
	if st.Status != "community" || st.IsSponsored || st.Edition != "community" || *st.Limits.Total != 200 || *st.Limits.Batch != 20 {
		t.Fatalf("community status: %+v", st)
	}
	ctx := context.Background()
	if q, err := h.client.QuotaCheck(ctx, api.QuotaCheckRequest{Batch: 20, Used: ptr(180)}); err != nil || !q.Allowed {
		t.Fatalf("20 at 180: %+v %v", q, err)
	}
	if q, err := h.client.QuotaCheck(ctx, api.QuotaCheckRequest{Batch: 21}); err != nil || q.Allowed {
		t.Fatalf("21: %+v %v", q, err)
	}
	if q, err := h.client.QuotaCheck(ctx, api.QuotaCheckRequest{Batch: 1, Used: ptr(200)}); err != nil || q.Allowed || q.Reason != "total_exceeded" {
		t.Fatalf("201st: %+v %v", q, err)
	}
}

func ptr(v int64) *int64 { return &v }

// Checklist 6 and 7: offline, still usable with the grace countdown going
// down; when grace runs out, back to community. Durations are seconds here.
func TestChecklist6And7OfflineGraceThenCommunity(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), fast(srv, "1s", "8s")...)
	h.mustActivate(e2eKey)
	srv.SetDown(true)
	time.Sleep(1200 * time.Millisecond) // trust lapses
	first := h.status()
	if first.Status != "grace" || !first.IsSponsored || first.GraceDaysLeft == nil || first.Reason != "trust_lapsed" {
		t.Fatalf("offline after trust: %+v", first)
	}
	if q, err := h.client.QuotaCheck(context.Background(), api.QuotaCheckRequest{Batch: 10}); err != nil || !q.Allowed {
		t.Fatalf("still usable in grace: %+v %v", q, err)
	}
	time.Sleep(500 * time.Millisecond)
	second := h.status()
	if second.Status != "grace" || *second.GraceDaysLeft >= *first.GraceDaysLeft {
		t.Fatalf("grace countdown not going down: %v then %v", *first.GraceDaysLeft, *second.GraceDaysLeft)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := h.status()
		if st.Status == "expired" {
			if st.IsSponsored || st.Reason != "grace_over" || *st.Limits.Total != 200 || *st.Limits.Batch != 20 {
				t.Fatalf("after grace: %+v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("grace never ended: %+v", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The server is back: a refresh restores the license.
	srv.SetDown(false)
	if res, err := h.client.Heartbeat(context.Background()); err != nil || res.Status != "active" {
		t.Fatalf("recovery: %+v %v", res, err)
	}
}

// Checklist 8: device switch old → new; the old machine is restricted after
// the switch window.
func TestChecklist8DeviceSwitch(t *testing.T) {
	srv := newLicenseServer(t)
	args := append(fast(srv, "7", "15"), "--switch-window", "2s")
	old := startHost(t, t.TempDir(), append(args, "--machine-id", "server_00000000000000a1")...)
	old.mustActivate(e2eKey)
	const newID = "server_00000000000000b2"
	res, err := old.client.SwitchDevice(context.Background(), newID, "moved to new hardware")
	if err != nil || !res.Success || res.Status != "switching" {
		t.Fatalf("switch: %+v %v", res, err)
	}
	if st := old.status(); st.Status != "switching" || !st.IsSponsored || st.SwitchedTo != newID {
		t.Fatalf("old machine in window: %+v", st)
	}
	nw := startHost(t, t.TempDir(), append(args, "--machine-id", newID)...)
	if res, err := nw.activate(e2eKey); err != nil || res.Status != "active" {
		t.Fatalf("new machine activation: %+v %v", res, err)
	}
	time.Sleep(2100 * time.Millisecond)
	st := old.status()
	if st.Status != "community" || st.IsSponsored || *st.Limits.Batch != 20 {
		t.Fatalf("old machine after the window: %+v", st)
	}
	// A bad machine code is refused before any remote call.
	_, err = nw.client.SwitchDevice(context.Background(), "server_nothex", "")
	if ae := actionErr(t, err); ae.StatusCode != 400 {
		t.Fatalf("bad machine code: %d", ae.StatusCode)
	}
}

// Checklist 9: clear returns to community.
func TestChecklist9Clear(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), fast(srv, "7", "15")...)
	h.mustActivate(e2eKey)
	res, err := h.client.Clear(context.Background())
	if err != nil || !res.Success || res.Status != "community" {
		t.Fatalf("clear: %+v %v", res, err)
	}
	st := h.status()
	if st.Status != "community" || st.LicenseKey != "" || st.Edition != "community" || string(st.License) != "null" {
		t.Fatalf("after clear: %+v", st)
	}
}

// Every route but /healthz needs the token.
func TestAuthEveryRoute(t *testing.T) {
	srv := newLicenseServer(t)
	dir := t.TempDir()
	appTok := filepath.Join(dir, "app.token")
	if err := os.WriteFile(appTok, []byte("app-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startHost(t, dir, append(fast(srv, "7", "15"), "--app-token-file", appTok)...)
	routes := []struct{ method, path string }{
		{"GET", api.PathStatus}, {"GET", api.PathMachineID}, {"POST", api.PathActivate}, {"POST", api.PathHeartbeat},
		{"POST", api.PathClear}, {"POST", api.PathSwitchDevice}, {"POST", api.PathQuotaCheck}, {"POST", api.PathQuotaConsume},
		{"GET", api.PathEvents}, {"POST", api.PathPolicyReload}, {"GET", api.PathMetrics}, {"GET", api.PathOpenAPI},
	}
	admin := map[string]bool{api.PathActivate: true, api.PathHeartbeat: true, api.PathClear: true, api.PathSwitchDevice: true, api.PathEvents: true, api.PathPolicyReload: true}
	for _, rt := range routes {
		for _, auth := range []string{"", "Bearer wrong", "Basic " + h.token, "Bearer"} {
			code, hdr := rawCall(t, rt.method, h.url+rt.path, auth)
			if code != 401 || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s with %q: %d (WWW-Authenticate %q), want 401", rt.method, rt.path, auth, code, hdr.Get("WWW-Authenticate"))
			}
		}
		code, _ := rawCall(t, rt.method, h.url+rt.path, "Bearer app-token-0123456789")
		if admin[rt.path] && code != 403 {
			t.Errorf("%s %s with the app token: %d, want 403", rt.method, rt.path, code)
		}
		if !admin[rt.path] && (code == 401 || code == 403) {
			t.Errorf("%s %s with the app token: %d, want access", rt.method, rt.path, code)
		}
	}
	if code, _ := rawCall(t, "GET", h.url+api.PathHealthz, ""); code != 200 {
		t.Fatalf("/healthz without a token: %d", code)
	}
	if code, _ := rawCall(t, "GET", h.url+"/nope", "Bearer "+h.token); code != 404 {
		t.Fatalf("unknown route: %d", code)
	}
	if code, hdr := rawCall(t, "DELETE", h.url+api.PathStatus, "Bearer "+h.token); code != 405 || hdr.Get("Allow") != "GET" {
		t.Fatalf("wrong method: %d allow=%q", code, hdr.Get("Allow"))
	}
	fi, err := os.Stat(filepath.Join(dir, api.TokenFileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode: %v %v", fi.Mode(), err)
	}
	if strings.Contains(h.stderr.String(), h.token) {
		t.Fatal("the token reached the log")
	}
}

func rawCall(t *testing.T, method, url, auth string) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader("{}"))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// kill -9 right after a successful activation: after restart the license
// is there (the write was durable before the API answered).
func TestKill9AfterActivation(t *testing.T) {
	srv := newLicenseServer(t)
	dir := t.TempDir()
	h := startHost(t, dir, fast(srv, "7", "15")...)
	if res, err := h.activate(e2eKey); err != nil || !res.Success {
		t.Fatalf("activate: %+v %v", res, err)
	}
	q, err := h.client.QuotaConsume(context.Background(), api.QuotaConsumeRequest{Batch: 3, IdempotencyKey: "k9"})
	if err != nil || !q.Allowed {
		t.Fatal(err)
	}
	h.kill()
	srv.SetDown(true) // the restart must not need the server
	h2 := startHost(t, dir, fast(srv, "7", "15")...)
	st := h2.status()
	if st.Status != "active" || st.Edition != "年度版" || st.Usage.Total != 3 {
		t.Fatalf("after kill -9 and restart: %+v", st)
	}
	q, err = h2.client.QuotaConsume(context.Background(), api.QuotaConsumeRequest{Batch: 3, IdempotencyKey: "k9"})
	if err != nil || !q.Replayed || q.Used != 3 {
		t.Fatalf("idempotency across restart: %+v %v", q, err)
	}
}

// The license server down at start: the host starts, serves, and the
// startup verification failure is recorded.
func TestRemoteDownAtStart(t *testing.T) {
	srv := newLicenseServer(t)
	dir := t.TempDir()
	activatedStore(t, dir, e2eKey, fast(srv, "1s", "60s")...)
	srv.SetDown(true)
	time.Sleep(1100 * time.Millisecond) // past trust: the next start verifies
	h2 := startHost(t, dir, fast(srv, "1s", "60s")...)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := h2.status()
		if st.LastRefresh != nil && !st.LastRefresh.Success {
			if st.Status != "grace" || st.LastRefresh.HTTPStatus != 0 || st.Failures != 1 {
				t.Fatalf("after a failed startup verification: %+v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("startup verification never recorded: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestBadFlagsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"--grace", "soon"}, {"--listen", "0.0.0.0:7474"}, {"--no-such-flag"}, {"--license-server", "ftp://x"},
		{"--max-failures", "0"}, {"--log-format", "xml"}, {"--machine-id", "server_BAD"}, {"quota", "check"},
		{"switch-device", "nope"}, {"frobnicate"}, {"quota"}, {"quota", "frob"}, {"activate"}, {"serve", "--nope"},
		{"events", "--limit", "0"}, {"--config", "/nonexistent/licensehost.toml"}, {"status", "extra"},
	} {
		cmd := exec.Command(hostBin, args...)
		cmd.Env = append(os.Environ(), "LICENSEHOST_DATA_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%v: exit %v, want 2 (%s)", args, err, out)
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "licensehost: ") || strings.Contains(string(out), "goroutine") {
			t.Errorf("%v: want one clear line, got %q", args, out)
		}
	}
}

func TestCLIAgainstDaemon(t *testing.T) {
	srv := newLicenseServer(t)
	dir := t.TempDir()
	h := startHost(t, dir, fast(srv, "7", "15")...)
	cli := func(args ...string) (string, int) {
		cmd := exec.Command(hostBin, args...)
		cmd.Env = append(os.Environ(), "LICENSEHOST_URL="+h.url, "LICENSEHOST_DATA_DIR="+dir)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		return string(out), code
	}
	if out, code := cli("activate", e2eKey); code != 0 || !strings.Contains(out, "activate ok: status active") {
		t.Fatalf("activate: %d %s", code, out)
	}
	if out, code := cli("status", "--json"); code != 0 || !strings.Contains(out, `"status": "active"`) {
		t.Fatalf("status --json: %d %s", code, out)
	}
	if out, code := cli("quota", "consume", "--batch", "11"); code != 1 || !strings.Contains(out, "refused: batch_exceeded") {
		t.Fatalf("refused consume: %d %s", code, out)
	}
	if out, code := cli("activate", "LH-NOPE-NOPE"); code != 1 || !strings.Contains(out, licapi.MsgNotFound) || !strings.Contains(out, "HTTP 404") {
		t.Fatalf("failed activation: %d %s", code, out)
	}
	if out, code := cli("events", "--limit", "5"); code != 0 || !strings.Contains(out, "activation_ok") {
		t.Fatalf("events: %d %s", code, out)
	}
	if out, code := cli("machine-id", "--explain"); code != 0 || !strings.Contains(out, "machine code: server_") {
		t.Fatalf("machine-id --explain: %d %s", code, out)
	}
	h.stop()
	if out, code := cli("status"); code != 1 || !strings.Contains(out, "not running") {
		t.Fatalf("no daemon: %d %s", code, out)
	}
}

// The Node example runs against the real daemon.
func TestNodeExample(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is required in CI for the example test")
		}
		t.Skip("node not installed")
	}
	srv := newLicenseServer(t)
	dir := t.TempDir()
	h := startHost(t, dir, fast(srv, "7", "15")...)
	cmd := exec.Command(node, filepath.Join("..", "..", "examples", "node", "app.mjs"), e2eKey)
	cmd.Env = append(os.Environ(), "LICENSEHOST_URL="+h.url, "LICENSEHOST_TOKEN_FILE="+filepath.Join(dir, api.TokenFileName))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node example: %v\n%s", err, out)
	}
	for _, want := range []string{"activate: 200 active", "status: active edition=年度版", "consume: allowed, used 3"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("node example output lacks %q:\n%s", want, out)
		}
	}
}

// Shell completion comes from the same command tree as the commands.
func TestCompletionAndHelp(t *testing.T) {
	out, code := runHost(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "__start_licensehost") {
		t.Fatalf("completion bash: %d %.300s", code, out)
	}
	out, code = runHost(t, "__complete", "quota", "")
	if code != 0 || !strings.Contains(out, "check") || !strings.Contains(out, "consume") {
		t.Fatalf("__complete quota: %d %s", code, out)
	}
	out, code = runHost(t, "help")
	if code != 0 || !strings.Contains(out, "SPONSOR_GRACE_TRUST_DAYS") || !strings.Contains(out, "switch-device") {
		t.Fatalf("help: %d %s", code, out)
	}
}

// runHost runs the binary to completion and returns its output and exit code.
func runHost(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(hostBin, args...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// --log-format json: every log line is a JSON object, and no secret is in it.
func TestJSONLogs(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), append(fast(srv, "7", "15"), "--log-format", "json")...)
	h.mustActivate(e2eKey)
	h.stop()
	lines := strings.Split(strings.TrimSpace(h.stderr.String()), "\n")
	if len(lines) < 3 {
		t.Fatalf("too few log lines: %q", lines)
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["msg"] == nil || m["level"] == nil {
			t.Fatalf("not a JSON log line: %q (%v)", l, err)
		}
	}
	if out := h.stderr.String(); strings.Contains(out, e2eKey) || strings.Contains(out, h.token) {
		t.Fatal("a secret reached the log")
	}
}

// Settings precedence against the real binary: a --config file, the
// environment (the seed's SPONSOR_* names) and flags, flag > env > file.
func TestConfigFilePrecedence(t *testing.T) {
	srv := newLicenseServer(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "licensehost.toml")
	body := fmt.Sprintf("license-server = %q\nlog-format = \"json\"\ncommunity-total = 250\ncommunity-batch = 7\n", srv.URL())
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startHostBin(t, hostBin, []string{"LICENSEHOST_CONFIG=" + conf, "SPONSOR_COMMUNITY_TOTAL=300"},
		filepath.Join(dir, "data"), "--community-batch", "9")
	st := h.status()
	if st.Edition != "community" || st.Limits.Total == nil || *st.Limits.Total != 300 || st.Limits.Batch == nil || *st.Limits.Batch != 9 {
		t.Fatalf("limits: total %v batch %v (%s), want 300 (env over file) and 9 (flag over file)", st.Limits.Total, st.Limits.Batch, st.Edition)
	}
	h.stop()
	for _, l := range strings.Split(strings.TrimSpace(h.stderr.String()), "\n") {
		if !json.Valid([]byte(l)) {
			t.Fatalf("log-format from the config file not applied: %q", l)
		}
	}
}
