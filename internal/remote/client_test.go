package remote_test

import (
	"context"
	"errors"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/internal/licapi"
	"io"
	"log"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/mask"
	"github.com/licensehost/licensehost/internal/remote"
	"github.com/licensehost/licensehost/internal/remotetest"
)

const (
	testKey = "KEY-0001-ABCD-EFGH-SECRET"
	machine = "server_0123456789abcdef"
	other   = "server_fedcba9876543210"
	timeout = 300 * time.Millisecond
)

// shortTimeouts makes a client give up after timeout, for tests of timeouts.
func shortTimeouts(c *remote.Config) { c.ConnectTimeout, c.TotalTimeout = timeout, timeout }

func newClient(t *testing.T, base string, mod ...func(*remote.Config)) (*remote.Client, *enginetest.SyncBuffer) {
	t.Helper()
	logs := &enginetest.SyncBuffer{}
	cfg := remote.Config{
		BaseURL: base,
		// Wide: a loaded machine must not turn an answer into a timeout.
		// Tests of timeouts set short ones (shortTimeouts).
		ConnectTimeout: 10 * time.Second,
		TotalTimeout:   10 * time.Second,
		Logger:         slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := remote.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if strings.Contains(logs.String(), testKey) {
			t.Errorf("logs hold the full license key:\n%s", logs)
		}
	})
	return c, logs
}

func verifyReq() licapi.VerifyRequest {
	return licapi.VerifyRequest{LicenseKey: testKey, MachineID: machine, DeviceInfo: "sponsor-activation:" + machine}
}

func TestVerifySuccessLenient(t *testing.T) {
	srv := remotetest.New(t)
	srv.AddLicense(testKey, 1, map[string]any{
		"customField1": 500,
		"customField2": "",
		"customField3": remotetest.Missing,
		"maxUses":      "999999",
		"timezone":     nil,
	})
	c, _ := newClient(t, srv.URL())
	res, err := c.Verify(context.Background(), verifyReq())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Success || res.HTTPStatus != 200 || res.Message != licapi.MsgVerifyOK || res.Token != srv.Token(testKey) {
		t.Fatalf("result %+v", res)
	}
	l := res.License
	if l == nil || l.CustomField1 != "500" || l.CustomField2 != "" || l.CustomField3 != "" || l.Timezone != "" ||
		l.MaxUses != licapi.Int(999999) || l.CurrentDevices != licapi.Int(1) ||
		string(l.LicenseKey) != testKey || l.ExpiresAt.Year() != 2125 || len(l.Raw) == 0 {
		t.Fatalf("license %+v", l)
	}
	if got := srv.Devices(testKey); !slices.Equal(got, []string{machine}) {
		t.Fatalf("devices %v", got)
	}
}

func TestWireFormat(t *testing.T) {
	srv := remotetest.New(t)
	srv.AddLicense(testKey, 0, nil)
	c, _ := newClient(t, srv.URL(), func(c *remote.Config) { c.UserAgent = "licensehost-test/1" })
	if _, err := c.Verify(context.Background(), verifyReq()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SwitchDevice(context.Background(), licapi.SwitchRequest{
		LicenseKey: testKey, OldMachineID: machine, NewMachineID: other, // Reason empty: still sent
	}); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	v, s := reqs[0], reqs[1]
	if licapi.PathVerify != "/api/license/verify" || licapi.PathSwitchDevice != "/api/license/switch-device" {
		t.Fatal("the contract's paths changed")
	}
	if v.Path != licapi.PathVerify {
		t.Errorf("verify path %q", v.Path)
	}
	if got := slices.Sorted(maps.Keys(v.Fields)); !slices.Equal(got, []string{"deviceInfo", "licenseKey", "machineId"}) {
		t.Errorf("verify fields %v", got)
	}
	if v.Fields["licenseKey"] != testKey || v.Fields["machineId"] != machine || v.Fields["deviceInfo"] != "sponsor-activation:"+machine {
		t.Errorf("verify values %v", v.Fields)
	}
	if s.Path != licapi.PathSwitchDevice {
		t.Errorf("switch path %q", s.Path)
	}
	if got := slices.Sorted(maps.Keys(s.Fields)); !slices.Equal(got, []string{"licenseKey", "newMachineId", "oldMachineId", "reason"}) {
		t.Errorf("switch fields %v", got)
	}
	if s.Fields["oldMachineId"] != machine || s.Fields["newMachineId"] != other || s.Fields["reason"] != "" {
		t.Errorf("switch values %v", s.Fields)
	}
	if ct := v.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if ua := v.Header.Get("User-Agent"); ua != "licensehost-test/1" {
		t.Errorf("User-Agent %q", ua)
	}
	if got := srv.Devices(testKey); !slices.Equal(got, []string{other}) {
		t.Errorf("devices after switch %v", got)
	}
}

func TestBasePathPrefix(t *testing.T) {
	srv := remotetest.New(t)
	var path string
	srv.SetFault(remotetest.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		w.Write([]byte(`{"success":true}`))
	})))
	c, _ := newClient(t, srv.URL()+"/licensing/")
	if _, err := c.Verify(context.Background(), verifyReq()); err != nil {
		t.Fatal(err)
	}
	if path != "/licensing/api/license/verify" {
		t.Fatalf("path %q", path)
	}
}

func TestDefinitiveRejections(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(*remotetest.Server)
		req     licapi.VerifyRequest
		status  int
		message string
	}{
		{"unknown key", func(*remotetest.Server) {}, verifyReq(), 404, licapi.MsgNotFound},
		{"suspended", func(s *remotetest.Server) { s.AddLicense(testKey, 1, nil); s.SetSuspended(testKey, true) }, verifyReq(), 403, licapi.MsgSuspended},
		{"device limit", func(s *remotetest.Server) { s.AddLicense(testKey, 1, nil); s.BindDevice(testKey, other) }, verifyReq(), 403, licapi.MsgDeviceLimit},
		{"401 reject", func(s *remotetest.Server) { s.SetFault(remotetest.Reject4xx(401, "unauthorized")) }, verifyReq(), 401, "unauthorized"},
		{"200 success:false", func(s *remotetest.Server) {
			s.SetFault(remotetest.Raw(200, "application/json", []byte(`{"success":false,"message":"no"}`)))
		}, verifyReq(), 200, "no"},
		{"key echoed in message", func(s *remotetest.Server) {
			s.SetFault(remotetest.Reject4xx(403, "密钥 "+testKey+" 已被暂停"))
		}, verifyReq(), 403, "密钥 " + mask.Key(testKey) + " 已被暂停"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := remotetest.New(t)
			tc.setup(srv)
			c, _ := newClient(t, srv.URL())
			res, err := c.Verify(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("err = %v, want a definitive rejection", err)
			}
			if res.Success || res.HTTPStatus != tc.status || res.Message != tc.message || len(res.Body) == 0 || res.License != nil {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

func TestTransientFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setup    func(*remotetest.Server)
		status   int
		messages []string // the message must be one of these
		wantData bool
		deadline bool // errors.Is(err, context.DeadlineExceeded)
	}{
		{name: "down", setup: func(s *remotetest.Server) { s.SetDown(true) }, messages: []string{"connection refused"}},
		{name: "connection reset", setup: func(s *remotetest.Server) { s.SetFault(remotetest.ConnectionReset()) },
			messages: []string{"connection reset by peer", "connection closed before a complete answer"}},
		{name: "hang", setup: func(s *remotetest.Server) { s.SetFault(remotetest.Hang()) },
			messages: []string{"timed out after 300ms"}, deadline: true},
		{name: "503 JSON", setup: func(s *remotetest.Server) { s.SetFault(remotetest.Status5xx(503)) },
			status: 503, messages: []string{remotetest.MsgUnavailable}, wantData: true},
		{name: "500 success:true", setup: func(s *remotetest.Server) {
			s.SetFault(remotetest.Raw(500, "application/json", []byte(`{"success":true}`)))
		}, status: 500, messages: []string{"HTTP 500 Internal Server Error"}, wantData: true},
		{name: "502 html", setup: func(s *remotetest.Server) {
			s.SetFault(remotetest.Raw(502, "text/html", []byte("<html>bad gateway</html>")))
		},
			status: 502, messages: []string{"HTTP 502 Bad Gateway"}},
		{name: "garbage", setup: func(s *remotetest.Server) { s.SetFault(remotetest.Garbage()) },
			status: 200, messages: []string{"unparseable response body (not JSON)"}},
		{name: "10 MB body", setup: func(s *remotetest.Server) { s.SetFault(remotetest.Huge(10 << 20)) },
			status: 200, messages: []string{"response exceeds 1 MiB"}},
		{name: "slow body", setup: func(s *remotetest.Server) { s.SetFault(remotetest.SlowBody(50 * time.Millisecond)) },
			status: 200, messages: []string{"timed out after 300ms while reading the response"}, deadline: true},
		{name: "404 plain text", setup: func(s *remotetest.Server) {
			s.SetFault(remotetest.Raw(404, "text/plain", []byte("404 page not found")))
		}, status: 404, messages: []string{"HTTP 404 Not Found with an unparseable body (not JSON)"}},
		{name: "429 success:false", setup: func(s *remotetest.Server) { s.SetFault(remotetest.Reject4xx(429, "请求过于频繁")) },
			status: 429, messages: []string{"请求过于频繁"}, wantData: true},
		{name: "302 redirect", setup: func(s *remotetest.Server) {
			s.SetFault(remotetest.Handler(http.RedirectHandler("/elsewhere", http.StatusFound)))
		}, status: 302, messages: []string{"unexpected HTTP 302 Found"}},
		{name: "5xx echoing the key", setup: func(s *remotetest.Server) {
			s.SetFault(remotetest.Raw(500, "application/json", []byte(`{"success":false,"message":"boom `+testKey+`"}`)))
		}, status: 500, messages: []string{"boom " + mask.Key(testKey)}, wantData: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := remotetest.New(t)
			srv.AddLicense(testKey, 0, nil)
			tc.setup(srv)
			var mod []func(*remote.Config)
			if tc.deadline {
				mod = append(mod, shortTimeouts)
			}
			c, logs := newClient(t, srv.URL(), mod...)
			res, err := c.Verify(context.Background(), verifyReq())
			re, ok := engine.AsRemoteError(err)
			if !ok {
				t.Fatalf("err = %v, result %+v; want *engine.RemoteError", err, res)
			}
			if re.Definitive || re.HTTPStatus != tc.status || !slices.Contains(tc.messages, re.Message) {
				t.Fatalf("RemoteError{HTTPStatus:%d Message:%q Definitive:%v}, want status %d, message in %q",
					re.HTTPStatus, re.Message, re.Definitive, tc.status, tc.messages)
			}
			if (re.Data != nil) != tc.wantData {
				t.Errorf("Data = %.80q, want set: %v", re.Data, tc.wantData)
			}
			if tc.deadline != errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("errors.Is(err, DeadlineExceeded) = %v", !tc.deadline)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error holds the key: %v", err)
			}
			if res.Success || res.HTTPStatus != 0 {
				t.Errorf("result with an error: %+v", res)
			}
			if !strings.Contains(logs.String(), "license server call failed") {
				t.Errorf("failure not logged:\n%s", logs)
			}
		})
	}
}

func TestRecoversAfterFaults(t *testing.T) {
	srv := remotetest.New(t)
	srv.AddLicense(testKey, 1, nil)
	c, _ := newClient(t, srv.URL())
	ctx := context.Background()
	if _, err := c.Verify(ctx, verifyReq()); err != nil {
		t.Fatal(err)
	}
	srv.SetDown(true)
	if _, err := c.Verify(ctx, verifyReq()); err == nil {
		t.Fatal("verify while down succeeded")
	}
	srv.SetDown(false)
	srv.FailNext(1, remotetest.ConnectionReset())
	if _, err := c.Verify(ctx, verifyReq()); err == nil {
		t.Fatal("verify on reset succeeded")
	}
	if res, err := c.Verify(ctx, verifyReq()); err != nil || !res.Success {
		t.Fatalf("after recovery: %+v, %v", res, err)
	}
}

func TestTLSError(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"success":true}`))
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	c, _ := newClient(t, ts.URL)
	_, err := c.Verify(context.Background(), verifyReq())
	re, ok := engine.AsRemoteError(err)
	if !ok || re.HTTPStatus != 0 || !strings.HasPrefix(re.Message, "TLS error: ") || re.Definitive {
		t.Fatalf("err = %#v", err)
	}
	// With the server's certificate trusted the same call works.
	c2, _ := newClient(t, ts.URL, func(c *remote.Config) { c.Transport = ts.Client().Transport })
	if res, err := c2.Verify(context.Background(), verifyReq()); err != nil || !res.Success {
		t.Fatalf("trusted: %+v, %v", res, err)
	}
}

func TestContextCanceled(t *testing.T) {
	srv := remotetest.New(t)
	srv.SetFault(remotetest.Hang())
	c, _ := newClient(t, srv.URL(), func(c *remote.Config) { c.TotalTimeout = time.Minute })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Verify(ctx, verifyReq())
		done <- err
	}()
	for srv.Count("") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	err := <-done
	re, ok := engine.AsRemoteError(err)
	if !ok || re.Message != "canceled" || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

type fakeVerifier struct {
	mu    sync.Mutex
	err   error
	calls []string // path|machineID|nonce|body
}

func (f *fakeVerifier) NewNonce() (string, error) { return "nonce-1", nil }

func (f *fakeVerifier) Verify(path, machineID, nonce string, h http.Header, body []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, path+"|"+machineID+"|"+nonce+"|"+h.Get("Content-Type")+"|"+string(body[:1]))
	return f.err
}

func TestVerifierHook(t *testing.T) {
	srv := remotetest.New(t)
	srv.AddLicense(testKey, 0, nil)
	fv := &fakeVerifier{}
	c, _ := newClient(t, srv.URL(), func(c *remote.Config) { c.Verifier = fv })
	ctx := context.Background()

	if res, err := c.Verify(ctx, verifyReq()); err != nil || !res.Success {
		t.Fatalf("verified answer: %+v, %v", res, err)
	}
	if r, _ := srv.LastRequest(); r.Header.Get(remote.NonceHeader) != "nonce-1" {
		t.Fatalf("nonce header %q", r.Header.Get(remote.NonceHeader))
	}
	want := licapi.PathVerify + "|" + machine + "|nonce-1|application/json; charset=utf-8|{"
	if len(fv.calls) != 1 || fv.calls[0] != want {
		t.Fatalf("verifier calls %q, want [%q]", fv.calls, want)
	}

	// A failing check turns an acceptance — and a rejection — into a transient error.
	fv.err = errors.New("bad signature")
	for _, fault := range []*remotetest.Fault{nil, ptr(remotetest.Reject4xx(403, "no"))} {
		if fault != nil {
			srv.SetFault(*fault)
		}
		res, err := c.SwitchDevice(ctx, licapi.SwitchRequest{LicenseKey: testKey, OldMachineID: machine, NewMachineID: other})
		re, ok := engine.AsRemoteError(err)
		if !ok || re.Definitive || re.Message != "license server answer failed signature check: bad signature" ||
			!errors.Is(err, fv.err) || re.Data == nil || res.Success {
			t.Fatalf("fault %v: err = %v, result %+v", fault, err, res)
		}
	}
	if last := fv.calls[len(fv.calls)-1]; !strings.HasPrefix(last, licapi.PathSwitchDevice+"|"+machine+"|") {
		t.Fatalf("switch verified with %q", last)
	}

	// Answers that are transient anyway are not checked.
	n := len(fv.calls)
	srv.SetFault(remotetest.Status5xx(503))
	if _, err := c.Verify(ctx, verifyReq()); err == nil {
		t.Fatal("503 accepted")
	}
	if len(fv.calls) != n {
		t.Fatal("verifier consulted for a 503")
	}
}

func ptr[T any](v T) *T { return &v }

func TestLogsMaskSecrets(t *testing.T) {
	srv := remotetest.New(t)
	srv.AddLicense(testKey, 0, nil)
	const token = "eyJhbGciOiJIUzI1NiJ9.secret-token-payload.sig"
	srv.SetToken(testKey, token)
	c, logs := newClient(t, srv.URL())
	ctx := context.Background()
	if _, err := c.Verify(ctx, verifyReq()); err != nil {
		t.Fatal(err)
	}
	srv.SetFault(remotetest.Reject4xx(403, "key "+testKey+" suspended"))
	_, _ = c.Verify(ctx, verifyReq())
	srv.SetFault(remotetest.Raw(500, "application/json", []byte(`{"success":false,"message":"`+testKey+`"}`)))
	_, _ = c.SwitchDevice(ctx, licapi.SwitchRequest{LicenseKey: testKey, OldMachineID: machine, NewMachineID: other})
	srv.SetDown(true)
	_, _ = c.Verify(ctx, verifyReq())

	out := logs.String()
	for _, secret := range []string{testKey, token} {
		if strings.Contains(out, secret) {
			t.Errorf("logs hold %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{mask.Key(testKey), mask.Token(token), "license server accepted", "license server rejected", "license server call failed", "level=DEBUG"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}

func TestNewConfig(t *testing.T) {
	c, err := remote.New(remote.Config{})
	if err != nil || c.BaseURL() != remote.DefaultBaseURL {
		t.Fatalf("default: %v %v", c, err)
	}
	if c, err := remote.New(remote.Config{BaseURL: "HTTP://example.com:8080/x/"}); err != nil || c.BaseURL() != "http://example.com:8080/x" {
		t.Fatalf("normalize: %v %v", c, err)
	}
	for _, cfg := range []remote.Config{
		{BaseURL: "ftp://example.com"},
		{BaseURL: "example.com"},
		{BaseURL: "http://"},
		{BaseURL: "https://user:pw@example.com"},
		{BaseURL: "https://example.com/?q=1"},
		{BaseURL: "https://example.com/#f"},
		{BaseURL: "https://exa mple.com"},
		{TotalTimeout: -1},
		{ConnectTimeout: -1},
		{MaxResponseBytes: -1},
	} {
		if _, err := remote.New(cfg); !errors.Is(err, remote.ErrInvalidConfig) {
			t.Errorf("New(%+v) err = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}

func TestCustomResponseLimit(t *testing.T) {
	srv := remotetest.New(t)
	srv.SetFault(remotetest.Huge(4000))
	c, _ := newClient(t, srv.URL(), func(c *remote.Config) { c.MaxResponseBytes = 2048 })
	_, err := c.Verify(context.Background(), verifyReq())
	if re, ok := engine.AsRemoteError(err); !ok || re.Message != "response exceeds 2 KiB" {
		t.Fatalf("err = %v", err)
	}
}

func TestTLSHandshakeTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() { // accept and say nothing
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	c, _ := newClient(t, "https://"+ln.Addr().String(), func(c *remote.Config) {
		c.ConnectTimeout = 100 * time.Millisecond
		c.TotalTimeout = 5 * time.Second
	})
	_, err = c.Verify(context.Background(), verifyReq())
	if re, ok := engine.AsRemoteError(err); !ok || re.Message != "TLS handshake timed out after 100ms" || re.HTTPStatus != 0 {
		t.Fatalf("err = %v", err)
	}
}
