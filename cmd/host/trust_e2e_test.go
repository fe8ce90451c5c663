package main

import (
	"bytes"
	"encoding/json"
	"github.com/licensehost/licensehost/internal/e2etest"
	"github.com/licensehost/licensehost/internal/licapi"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/internal/remotetest"
)

// End-to-end regression tests of issue 12 (trustworthy local state), each
// against the real binary: docs/reliability.md lists them by defect.

// waitStatus polls the status until ok accepts it.
func waitStatus(t *testing.T, h *host, what string, ok func(*api.Status) bool) *api.Status {
	t.Helper()
	var st *api.Status
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if st = h.status(); ok(st) {
			return st
		}
	}
	t.Fatalf("%s: last status %+v", what, st)
	return nil
}

// Defect 1: no answer carries the full license key, whatever the token —
// not the status's license object read with the read-only app token, nor
// the activate and heartbeat answers.
func TestNoAnswerCarriesTheFullKey(t *testing.T) {
	srv := newLicenseServer(t)
	dir := t.TempDir()
	appFile := filepath.Join(dir, "app.token")
	h := startHost(t, dir, append(fast(srv, "7", "15"), "--app-token-file", appFile)...)
	appTok, err := os.ReadFile(appFile)
	if err != nil {
		t.Fatal(err)
	}
	act := func(path, body string) []byte {
		code, b := e2etest.Request(t, http.MethodPost, h.url+path, h.token, []byte(body))
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, code, b)
		}
		return b
	}
	bodies := map[string][]byte{
		"activate":  act(api.PathActivate, `{"licenseKey":"`+e2eKey+`"}`),
		"heartbeat": act(api.PathHeartbeat, `{}`),
	}
	for name, tok := range map[string]string{"app": strings.TrimSpace(string(appTok)), "admin": h.token} {
		code, b := e2etest.Request(t, http.MethodGet, h.url+api.PathStatus, tok, nil)
		if code != http.StatusOK {
			t.Fatalf("status with the %s token: %d %s", name, code, b)
		}
		bodies["status/"+name] = b
	}
	for name, b := range bodies {
		if bytes.Contains(b, []byte(e2eKey)) {
			t.Errorf("%s answer holds the full key: %s", name, b)
		}
	}
	var st api.Status
	if err := json.Unmarshal(bodies["status/app"], &st); err != nil {
		t.Fatal(err)
	}
	var lic struct{ LicenseKey string }
	if err := json.Unmarshal(st.License, &lic); err != nil || lic.LicenseKey != "LH-E…0001" {
		t.Fatalf("license.licenseKey in the status = %q (%v), want LH-E…0001", lic.LicenseKey, err)
	}
	// The rest of the license object is still there.
	if !bytes.Contains(st.License, []byte("年度版")) {
		t.Fatalf("license object lost its fields: %s", st.License)
	}
}

// Defect 2: a failure after grace ran out does not restart grace. Activate
// (trust 2s, grace 4s), stop the host past trust + grace, start it with
// the server down: the startup verification fails and the status is
// expired, not a fresh grace.
func TestNoFreshGraceAfterGraceRanOut(t *testing.T) {
	srv := newLicenseServer(t)
	dir := t.TempDir()
	args := fast(srv, "2s", "4s")
	h := startHost(t, dir, args...)
	if res, err := h.activate(e2eKey); err != nil || res.Status != "active" {
		t.Fatalf("activate: %+v %v", res, err)
	}
	activated := time.Now()
	h.stop()
	srv.SetDown(true)
	time.Sleep(time.Until(activated.Add(7 * time.Second)))
	h = startHost(t, dir, args...)
	st := waitStatus(t, h, "startup verification recorded", func(st *api.Status) bool { return st.Failures >= 1 })
	if st.Status != "expired" || st.Reason != "grace_over" || st.IsSponsored {
		t.Fatalf("after trust + grace offline and a failed start: %s/%s sponsored=%v graceDaysLeft=%v, want expired/grace_over",
			st.Status, st.Reason, st.IsSponsored, st.GraceDaysLeft)
	}
}

// licensedServer runs cmd/licensed on loopback; lic runs its admin CLI.
type licensedServer struct {
	dir, url, pub string
	lic           func(args ...string) string
}

// startLicensedServer runs licensed (extra: serve flags) with a license
// type "annual" of 5 devices.
func startLicensedServer(t *testing.T, extra ...string) *licensedServer {
	t.Helper()
	ls := newLicensed(t)
	ls.lic("type", "add", "annual", "--display", "年度版", "--max-devices", "5", "--field1", "500", "--field2", "50", "--validity", "30d")
	ls.serve(t, extra...)
	return ls
}

// newLicensed initializes a licensed data directory (not served yet).
func newLicensed(t *testing.T) *licensedServer {
	t.Helper()
	ls := &licensedServer{dir: t.TempDir()}
	ls.lic = func(args ...string) string {
		t.Helper()
		cmd := exec.Command(licensedBin, append(args, "--data-dir", ls.dir)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("licensed %v: %v\n%s%s", args, err, out, stderr.String())
		}
		return strings.TrimSpace(string(out))
	}
	ls.lic("init", "--app-name", "e2e")
	ls.pub = ls.lic("pubkey")
	return ls
}

// serve starts `licensed serve` on a loopback port until the test ends.
func (ls *licensedServer) serve(t *testing.T, extra ...string) {
	t.Helper()
	serve := exec.Command(licensedBin, append([]string{"serve", "--data-dir", ls.dir, "--listen", "127.0.0.1:0"}, extra...)...)
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	for deadline := time.Now().Add(20 * time.Second); ls.url == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(ls.dir, "licensed.addr")); err == nil {
			ls.url = strings.TrimSpace(string(b))
		}
	}
	if ls.url == "" {
		t.Fatal("licensed did not write its address")
	}
}

// keySwapProxy forwards to target, replacing from by to in request bodies,
// and passes the answer (headers included: the signature) back unchanged.
func keySwapProxy(t *testing.T, target, from, to string) string {
	t.Helper()
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		body = bytes.ReplaceAll(body, []byte(from), []byte(to))
		req, _ := http.NewRequest(r.Method, target+r.URL.Path, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(p.Close)
	return p.URL
}

// Defect 5: with a pinned server key, a proxy that swaps the request's key
// for another valid one gets a genuinely signed answer about that key; the
// host refuses it, so a revoked key does not show active.
func TestKeySwappingProxyRefused(t *testing.T) {
	ls := startLicensedServer(t)
	good := ls.lic("key", "issue", "--type", "annual")
	revoked := ls.lic("key", "issue", "--type", "annual")
	ls.lic("key", "revoke", revoked)
	proxy := keySwapProxy(t, ls.url, revoked, good)

	h := startHost(t, t.TempDir(), "--license-server", proxy, "--server-public-key", ls.pub, "--machine-id", "server_000000000000c0de")
	_, err := h.activate(revoked)
	ae := actionErr(t, err)
	if ae.StatusCode != http.StatusBadGateway || !strings.Contains(ae.Response.Message, "another license key") {
		t.Fatalf("activation through a key-swapping proxy: %d %+v", ae.StatusCode, ae.Response)
	}
	if st := h.status(); st.Status == "active" || st.IsSponsored {
		t.Fatalf("a revoked key shows %s through a key-swapping proxy", st.Status)
	}
}

// Defect 6: an acceptance without a license object, for a new key, keeps
// nothing of the previous key's license, type and limits.
func TestAcceptanceWithoutLicenseForNewKey(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), fast(srv, "7", "15")...)
	h.mustActivate(e2eKey)
	if st := h.status(); st.Limits.Total == nil || *st.Limits.Total != 50 {
		t.Fatalf("first key's limits: %+v", st.Limits)
	}
	srv.FailNext(1, remotetest.Raw(http.StatusOK, "application/json", []byte(`{"success":true,"message":"ok"}`)))
	const other = "LH-E2E-BARE-ANSWER-0003"
	if res, err := h.activate(other); err != nil || !res.Success {
		t.Fatalf("activate %s: %+v %v", other, res, err)
	}
	st := h.status()
	if st.LicenseKey != "LH-E…0003" {
		t.Fatalf("stored key: %q", st.LicenseKey)
	}
	if st.Edition == "年度版" || (st.Limits.Total != nil && *st.Limits.Total == 50) || (st.Limits.Batch != nil && *st.Limits.Batch == 10) ||
		(len(st.License) > 0 && string(st.License) != "null") {
		t.Fatalf("the previous key's license survived: edition %q limits %+v license %s", st.Edition, st.Limits, st.License)
	}
}

// Defect 10: keys with invalid UTF-8, a right-to-left override or
// zero-width characters are refused before any network call, and nothing
// is stored.
func TestInvisibleOrInvalidKeyCharactersRefused(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), fast(srv, "7", "15")...)
	bodies := map[string][]byte{
		"invalid UTF-8":           []byte("{\"licenseKey\":\"LH-E2E-ANNUAL-\xff\xfe01\"}"),
		"right-to-left override":  []byte(`{"licenseKey":"LH-E2E-ANNUAL-0001\u202e"}`),
		"zero-width space":        []byte(`{"licenseKey":"LH-E2E-\u200bANNUAL-0001"}`),
		"zero-width joiner":       []byte(`{"licenseKey":"LH-E2E-ANNUAL\u200d-0001"}`),
		"byte order mark":         []byte(`{"licenseKey":"\ufeffLH-E2E-ANNUAL-0001"}`),
		"replacement character":   []byte(`{"licenseKey":"LH-E2E-ANNUAL-\ufffd0001"}`),
		"no-break space":          []byte(`{"licenseKey":"LH-E2E\u00a0ANNUAL-0001"}`),
		"invalid UTF-8 elsewhere": []byte("{\"licenseKey\":\"LH-E2E-ANNUAL-0001\",\"x\":\"\xc3\"}"),
	}
	for name, body := range bodies {
		code, b := e2etest.Request(t, http.MethodPost, h.url+api.PathActivate, h.token, body)
		if code != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d %s, want 400", name, code, b)
		}
	}
	if n := srv.Count(licapi.PathVerify); n != 0 {
		t.Fatalf("%d verify calls for refused keys", n)
	}
	if st := h.status(); st.Status != "community" || st.LicenseKey != "" {
		t.Fatalf("a refused key was stored: %+v", st)
	}
}

// Defect 12: a token placed in the URL path is neither echoed in the 404
// answer nor written to the access log.
func TestTokenInPathNotEchoedOrLogged(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), fast(srv, "7", "15")...)
	for _, path := range []string{"/" + h.token, "/api/sponsor/status/" + h.token, "/api/" + h.token + "/status"} {
		code, b := e2etest.Request(t, http.MethodGet, h.url+path, "", nil)
		if code != http.StatusNotFound || bytes.Contains(b, []byte(h.token)) || bytes.Contains(b, []byte(h.token[:16])) {
			t.Fatalf("GET %s: %d %s", strings.ReplaceAll(path, h.token, "<token>"), code, b)
		}
		code, b = e2etest.Request(t, http.MethodGet, h.url+path, h.token, nil)
		if code != http.StatusNotFound || bytes.Contains(b, []byte(h.token)) {
			t.Fatalf("GET %s with auth: %d %s", strings.ReplaceAll(path, h.token, "<token>"), code, b)
		}
	}
	h.stop()
	logs := h.stderr.String()
	if !strings.Contains(logs, "unknown route") {
		t.Fatalf("the 404s are not in the access log:\n%s", logs)
	}
	if strings.Contains(logs, h.token) || strings.Contains(logs, h.token[:16]) {
		t.Fatal("the access log holds the token")
	}
}

// Defect 11: callers queued behind a hanging license server all get an
// HTTP answer: five concurrent heartbeats against a server that never
// answers are each answered, within a bound far below the five calls'
// summed timeouts (the last two used to get no answer at all).
func TestQueuedCallersAnsweredWhileServerHangs(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), "--license-server", srv.URL(), "--remote-timeout", "15s")
	h.mustActivate(e2eKey)
	srv.SetFault(remotetest.Hang())
	defer srv.ClearFault()
	var wg sync.WaitGroup
	codes := make([]int, 5)
	errs := make([]error, 5)
	start := time.Now()
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, h.url+api.PathHeartbeat, strings.NewReader("{}"))
			req.Header.Set("Authorization", "Bearer "+h.token)
			resp, err := (&http.Client{Timeout: 90 * time.Second}).Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	elapsed := time.Since(start)
	for i := range 5 {
		if errs[i] != nil || codes[i] == 0 {
			t.Errorf("heartbeat %d: no answer (%v)", i+1, errs[i])
		} else if codes[i] != http.StatusBadGateway && codes[i] != http.StatusServiceUnavailable {
			t.Errorf("heartbeat %d: HTTP %d, want 502 or 503", i+1, codes[i])
		}
	}
	// One remote timeout is 15 s; five in a row would be 75 s.
	if elapsed > 50*time.Second {
		t.Fatalf("five heartbeats took %v", elapsed)
	}
	if st := h.status(); st.Failures < 1 {
		t.Fatalf("the hanging call was not recorded: %+v", st)
	}
}

// Defect 9, decided: a 429 from licensed's rate limit is no verdict on the
// key. The host treats it as transient (docs/remote.md, docs/licensed.md):
// a new key is kept as pending, the answer is 502 and not definitive.
func TestRateLimitIsTransient(t *testing.T) {
	ls := startLicensedServer(t, "--request-burst", "1", "--request-every", "1h")
	key := ls.lic("key", "issue", "--type", "annual")
	h1 := startHost(t, t.TempDir(), "--license-server", ls.url, "--server-public-key", ls.pub, "--machine-id", "server_000000000000c0de")
	if res, err := h1.activate(key); err != nil || res.Status != "active" {
		t.Fatalf("first activation: %+v %v", res, err)
	}
	h2 := startHost(t, t.TempDir(), "--license-server", ls.url, "--server-public-key", ls.pub, "--machine-id", "server_000000000000beef")
	_, err := h2.activate(key)
	ae := actionErr(t, err)
	if ae.StatusCode != http.StatusBadGateway || ae.Response.Definitive || ae.Response.RemoteError == nil || ae.Response.RemoteError.HTTPStatus != http.StatusTooManyRequests {
		t.Fatalf("rate-limited activation: %d %+v", ae.StatusCode, ae.Response)
	}
	if st := h2.status(); st.Status != "pending" {
		t.Fatalf("after a 429 the key should be pending: %s", st.Status)
	}
}
