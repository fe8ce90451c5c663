package hostclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/hostclient"
)

const testToken = "s3cret-token"

// fakeHost is a loopback daemon speaking the api types. Handlers per route
// may be replaced by a test.
type fakeHost struct {
	t      *testing.T
	routes map[string]http.HandlerFunc
	last   *http.Request
	body   []byte
}

func newFakeHost(t *testing.T) (*fakeHost, *httptest.Server) {
	t.Helper()
	h := &fakeHost{t: t, routes: map[string]http.HandlerFunc{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.last = r
		h.body, _ = io.ReadAll(r.Body)
		if r.URL.Path != api.PathHealthz && r.Header.Get("Authorization") != "Bearer "+testToken {
			w.Header().Set("WWW-Authenticate", `Bearer realm="licensehost"`)
			writeJSON(w, http.StatusUnauthorized, api.Error{Error: "unauthorized", Message: "missing or wrong token"})
			return
		}
		if fn, ok := h.routes[r.URL.Path]; ok {
			fn(w, r)
			return
		}
		writeJSON(w, http.StatusNotFound, api.Error{Error: "not_found", Message: "no such route"})
	}))
	t.Cleanup(srv.Close)
	return h, srv
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func newClient(t *testing.T, url string, opts ...hostclient.Option) *hostclient.Client {
	t.Helper()
	c, err := hostclient.New(url, testToken, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStatus(t *testing.T) {
	h, srv := newFakeHost(t)
	days := 12.5
	h.routes[api.PathStatus] = func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			t.Errorf("method %s", r.Method)
		}
		writeJSON(w, 200, api.Status{
			MachineID: "server_0123456789abcdef", Edition: "终生赞助版", LicenseKey: "my-a…9f3c",
			Status: "grace", IsSponsored: true, GraceDaysLeft: &days,
			License: json.RawMessage(`{"licenseKey":"my-abc","customField1":"500"}`),
		})
	}
	st, err := newClient(t, srv.URL).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "grace" || st.Edition != "终生赞助版" || st.GraceDaysLeft == nil || *st.GraceDaysLeft != 12.5 {
		t.Fatalf("status = %+v", st)
	}
	if got := h.last.Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization = %q", got)
	}
	if !strings.Contains(string(st.License), "customField1") {
		t.Errorf("license raw = %s", st.License)
	}
}

func TestMachineIDAndHealthz(t *testing.T) {
	h, srv := newFakeHost(t)
	h.routes[api.PathMachineID] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, api.MachineID{MachineID: "server_0123456789abcdef"})
	}
	h.routes[api.PathHealthz] = func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("healthz got a token")
		}
		w.WriteHeader(200)
		_, _ = w.Write([]byte("ok\n"))
	}
	c := newClient(t, srv.URL)
	id, err := c.MachineID(context.Background())
	if err != nil || id != "server_0123456789abcdef" {
		t.Fatalf("MachineID = %q, %v", id, err)
	}
	noToken, err := hostclient.New(srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := noToken.Healthz(context.Background()); err != nil {
		t.Fatalf("Healthz: %v", err)
	}
}

func TestUnauthorized(t *testing.T) {
	_, srv := newFakeHost(t)
	c, _ := hostclient.New(srv.URL, "wrong")
	_, err := c.Status(context.Background())
	if !errors.Is(err, hostclient.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	var ae *hostclient.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 401 || !strings.Contains(ae.Challenge, "Bearer") {
		t.Fatalf("APIError = %+v", ae)
	}
	if !strings.Contains(err.Error(), "token") {
		t.Errorf("message %q does not mention the token", err)
	}
}

func TestForbiddenAppToken(t *testing.T) {
	h, srv := newFakeHost(t)
	h.routes[api.PathClear] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 403, api.Error{Error: "forbidden", Message: "read-only token"})
	}
	_, err := newClient(t, srv.URL).Clear(context.Background())
	if !errors.Is(err, hostclient.ErrForbidden) {
		t.Fatalf("err = %v, want ErrForbidden", err)
	}
}

func TestHostNotRunning(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c := newClient(t, addr)
	_, err = c.Status(context.Background())
	if !errors.Is(err, hostclient.ErrHostNotRunning) {
		t.Fatalf("err = %v, want ErrHostNotRunning", err)
	}
	for _, want := range []string{"licensehost", "make run", addr} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
}

func TestActions(t *testing.T) {
	mismatch := api.ActionResponse{
		Success: false, Status: "community", Message: "License key mismatch", Definitive: true,
		RemoteError: &api.RemoteError{HTTPStatus: 403, Message: "License key mismatch", Data: json.RawMessage(`{"success":false,"message":"License key mismatch"}`)},
		Fallback:    &api.Fallback{IsSponsored: false, Status: "community"},
		GraceDays:   15, TrustDays: 7,
	}
	down := api.ActionResponse{
		Success: false, Status: "grace", Message: "license server unreachable",
		RemoteError: &api.RemoteError{HTTPStatus: 0, Message: "dial tcp: connection refused"},
		Fallback:    &api.Fallback{IsSponsored: true, Status: "grace"},
	}
	badFormat := api.ActionResponse{Success: false, Status: "community", Message: "Invalid license key format"}
	ok := api.ActionResponse{Success: true, Status: "active", License: json.RawMessage(`{"licenseTypeName":"终生赞助版"}`), GraceDays: 15, TrustDays: 7}

	tests := []struct {
		name     string
		code     int
		body     any
		call     func(*hostclient.Client) (*api.ActionResponse, error)
		path     string
		wantErr  error
		wantHTTP int
	}{
		{"activate ok", 200, ok, func(c *hostclient.Client) (*api.ActionResponse, error) {
			return c.Activate(context.Background(), "my-key")
		}, api.PathActivate, nil, 0},
		{"activate bad format", 400, badFormat, func(c *hostclient.Client) (*api.ActionResponse, error) {
			return c.Activate(context.Background(), "\x01")
		}, api.PathActivate, hostclient.ErrBadRequest, 0},
		{"activate rejected", 422, mismatch, func(c *hostclient.Client) (*api.ActionResponse, error) {
			return c.Activate(context.Background(), "my-key")
		}, api.PathActivate, hostclient.ErrRejected, 403},
		{"heartbeat no answer", 502, down, func(c *hostclient.Client) (*api.ActionResponse, error) {
			return c.Heartbeat(context.Background())
		}, api.PathHeartbeat, hostclient.ErrNoAnswer, 0},
		{"heartbeat without license", 409, api.ActionResponse{Success: false, Status: "community", Message: "no license key is stored; activate one first"}, func(c *hostclient.Client) (*api.ActionResponse, error) {
			return c.Heartbeat(context.Background())
		}, api.PathHeartbeat, hostclient.ErrNoLicense, 0},
		{"switch ok", 200, api.ActionResponse{Success: true, Status: "switching"}, func(c *hostclient.Client) (*api.ActionResponse, error) {
			return c.SwitchDevice(context.Background(), "server_fedcba9876543210", "new laptop")
		}, api.PathSwitchDevice, nil, 0},
		{"clear ok", 200, api.ActionResponse{Success: true, Status: "community"}, func(c *hostclient.Client) (*api.ActionResponse, error) {
			return c.Clear(context.Background())
		}, api.PathClear, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, srv := newFakeHost(t)
			h.routes[tt.path] = func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost {
					t.Errorf("method %s", r.Method)
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				writeJSON(w, tt.code, tt.body)
			}
			resp, err := tt.call(newClient(t, srv.URL))
			if tt.wantErr == nil {
				if err != nil || resp == nil || !resp.Success {
					t.Fatalf("resp %+v, err %v", resp, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var ae *hostclient.ActionError
			if !errors.As(err, &ae) || ae.Response == nil {
				t.Fatalf("not an ActionError with a response: %#v", err)
			}
			if ae.StatusCode != tt.code || ae.RemoteStatus() != tt.wantHTTP {
				t.Errorf("status %d remote %d", ae.StatusCode, ae.RemoteStatus())
			}
			want := tt.body.(api.ActionResponse)
			if ae.Response.Message != want.Message || ae.Response.Status != want.Status {
				t.Errorf("response %+v", ae.Response)
			}
			if !strings.Contains(err.Error(), want.Message) {
				t.Errorf("message %q lacks %q", err, want.Message)
			}
		})
	}
}

func TestRequestBodies(t *testing.T) {
	h, srv := newFakeHost(t)
	h.routes[api.PathSwitchDevice] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, api.ActionResponse{Success: true, Status: "switching"})
	}
	h.routes[api.PathActivate] = h.routes[api.PathSwitchDevice]
	c := newClient(t, srv.URL)
	if _, err := c.SwitchDevice(context.Background(), "server_fedcba9876543210", "new laptop"); err != nil {
		t.Fatal(err)
	}
	var sw api.SwitchRequest
	if err := json.Unmarshal(h.body, &sw); err != nil || sw.NewMachineID != "server_fedcba9876543210" || sw.Reason != "new laptop" {
		t.Fatalf("switch body %s (%v)", h.body, err)
	}
	if _, err := c.Activate(context.Background(), "my-key-1"); err != nil {
		t.Fatal(err)
	}
	var ar api.ActivateRequest
	if err := json.Unmarshal(h.body, &ar); err != nil || ar.LicenseKey != "my-key-1" {
		t.Fatalf("activate body %s (%v)", h.body, err)
	}
}

func TestBadJSON400IsAPIError(t *testing.T) {
	h, srv := newFakeHost(t)
	h.routes[api.PathActivate] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, api.Error{Error: "bad_request", Message: "body is not JSON"})
	}
	_, err := newClient(t, srv.URL).Activate(context.Background(), "k")
	var ae *hostclient.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Body.Error != "bad_request" {
		t.Fatalf("err = %#v", err)
	}
}

func TestQuota(t *testing.T) {
	h, srv := newFakeHost(t)
	total := int64(200)
	h.routes[api.PathQuotaCheck] = func(w http.ResponseWriter, r *http.Request) {
		var req api.QuotaCheckRequest
		_ = json.NewDecoder(strings.NewReader(string(h.body))).Decode(&req)
		if req.Batch > 20 {
			writeJSON(w, 403, api.QuotaResponse{Allowed: false, Reason: "batch_limit", Limits: api.Limits{Total: &total}, Policy: "builtin"})
			return
		}
		writeJSON(w, 200, api.QuotaResponse{Allowed: true, Limits: api.Limits{Total: &total}, Policy: "builtin"})
	}
	h.routes[api.PathQuotaConsume] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, api.QuotaResponse{Allowed: true, Used: 5, Replayed: true, Policy: "builtin"})
	}
	c := newClient(t, srv.URL)
	q, err := c.QuotaCheck(context.Background(), api.QuotaCheckRequest{Batch: 5})
	if err != nil || !q.Allowed || *q.Limits.Total != 200 {
		t.Fatalf("check 5: %+v %v", q, err)
	}
	q, err = c.QuotaCheck(context.Background(), api.QuotaCheckRequest{Batch: 50})
	if err != nil || q.Allowed || q.Reason != "batch_limit" {
		t.Fatalf("check 50: %+v %v", q, err)
	}
	q, err = c.QuotaConsume(context.Background(), api.QuotaConsumeRequest{Batch: 5, IdempotencyKey: "k1"})
	if err != nil || !q.Replayed || q.Used != 5 {
		t.Fatalf("consume: %+v %v", q, err)
	}
	h.routes[api.PathQuotaConsume] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 403, api.Error{Error: "forbidden", Message: "read-only token"})
	}
	if _, err := c.QuotaConsume(context.Background(), api.QuotaConsumeRequest{Batch: 1}); !errors.Is(err, hostclient.ErrForbidden) {
		t.Fatalf("consume with api.Error 403: %v", err)
	}
}

func TestResponseCap(t *testing.T) {
	h, srv := newFakeHost(t)
	h.routes[api.PathStatus] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"machineId":"`))
		_, _ = w.Write([]byte(strings.Repeat("a", hostclient.MaxResponseBytes)))
		_, _ = w.Write([]byte(`"}`))
	}
	_, err := newClient(t, srv.URL).Status(context.Background())
	if !errors.Is(err, hostclient.ErrResponseTooLarge) {
		t.Fatalf("err = %v, want ErrResponseTooLarge", err)
	}
}

func TestNotLicensehost(t *testing.T) {
	h, srv := newFakeHost(t)
	h.routes[api.PathStatus] = func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<html>hello</html>"))
	}
	h.routes[api.PathHeartbeat] = func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		_, _ = w.Write([]byte("boom"))
	}
	c := newClient(t, srv.URL)
	var re *hostclient.ResponseError
	if _, err := c.Status(context.Background()); !errors.As(err, &re) || !strings.Contains(err.Error(), "<html>") {
		t.Fatalf("status err = %v", err)
	}
	if _, err := c.Heartbeat(context.Background()); !errors.As(err, &re) || re.StatusCode != 500 {
		t.Fatalf("heartbeat err = %v", err)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	h, srv := newFakeHost(t)
	h.routes[api.PathStatus] = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://example.invalid/steal", http.StatusFound)
	}
	_, err := newClient(t, srv.URL).Status(context.Background())
	var re *hostclient.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusFound {
		t.Fatalf("err = %v", err)
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	h, srv := newFakeHost(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	h.routes[api.PathStatus] = slow
	h.routes[api.PathHeartbeat] = slow
	c := newClient(t, srv.URL, hostclient.WithTimeout(50*time.Millisecond), hostclient.WithActionTimeout(80*time.Millisecond))
	start := time.Now()
	if _, err := c.Status(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("status err = %v", err)
	}
	if _, err := c.Heartbeat(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("heartbeat err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timeouts took %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newClient(t, srv.URL).Status(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled err = %v", err)
	}
}

func TestNewURLs(t *testing.T) {
	h, srv := newFakeHost(t)
	h.routes["/prefix"+api.PathMachineID] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, api.MachineID{MachineID: "server_0000000000000000"})
	}
	c := newClient(t, srv.URL+"/prefix/")
	if id, err := c.MachineID(context.Background()); err != nil || id != "server_0000000000000000" {
		t.Fatalf("prefixed: %q %v", id, err)
	}
	bare := strings.TrimPrefix(srv.URL, "http://")
	if c := newClient(t, bare); c.BaseURL() != srv.URL {
		t.Errorf("bare host:port → %q", c.BaseURL())
	}
	if c := newClient(t, ""); c.BaseURL() != hostclient.DefaultBaseURL {
		t.Errorf("empty → %q", c.BaseURL())
	}
	for _, bad := range []string{"ftp://x", "http://", "http://[::1"} {
		if _, err := hostclient.New(bad, "t"); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}

// The token helpers live in internal/hostdir (tested there); hostclient
// re-exports them for applications.
func TestReadTokenFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(p, []byte("abc123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := hostclient.ReadTokenFile(p)
	if !errors.Is(err, hostclient.ErrTokenFileInsecure) || tok != "abc123" {
		t.Fatalf("insecure: %q %v", tok, err)
	}
}

func TestDefaultTokenFile(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/xdg")
	p, err := hostclient.DefaultTokenFile()
	if err != nil || p != "/xdg/licensehost/"+api.TokenFileName {
		t.Fatalf("XDG: %q %v", p, err)
	}
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", "/home/u")
	p, err = hostclient.DefaultTokenFile()
	if err != nil || p != "/home/u/.local/share/licensehost/"+api.TokenFileName {
		t.Fatalf("HOME: %q %v", p, err)
	}
}

func TestPathWithQuery(t *testing.T) {
	h, srv := newFakeHost(t)
	h.routes[api.PathMachineID] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, api.MachineID{MachineID: r.URL.Query().Get("x")})
	}
	// Routes with a query string (e.g. events?limit=N) keep the query.
	c := newClient(t, srv.URL)
	if id, err := hostclient.GetForTest(c, context.Background(), api.PathMachineID+"?x=server_1"); err != nil || id != "server_1" {
		t.Fatalf("%q %v", id, err)
	}
}
