package licserver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"github.com/licensehost/licensehost/internal/licapi"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/licensehost/licensehost/internal/licserver/store"
	"github.com/licensehost/licensehost/internal/signing"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const testToken = "test-admin-token"

type env struct {
	t     testing.TB
	dir   DataDir
	st    *store.Store
	svc   *Service
	clock *fakeClock
	pub   ed25519.PublicKey
	priv  ed25519.PrivateKey
	srv   *httptest.Server
	admin Admin // over the admin HTTP API
}

type envOpts struct {
	churn, reqs Rate
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	e := &env{t: t, dir: DataDir(t.TempDir()), clock: &fakeClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}}
	res, err := Init(e.dir, "测试应用", e.clock.Now(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.pub = res.PublicKey
	if e.priv, err = e.dir.LoadPrivateKey(); err != nil {
		t.Fatal(err)
	}
	if e.st, err = store.Open(e.dir.DB(), store.Options{}); err != nil {
		t.Fatal(err)
	}
	e.svc, err = NewService(Config{Store: e.st, Clock: e.clock, ChurnRate: o.churn, RequestRate: o.reqs, SetRates: true})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(Handler(HandlerConfig{Service: e.svc, PrivateKey: e.priv, AdminToken: testToken}))
	e.admin = &AdminClient{BaseURL: e.srv.URL, Token: testToken}
	t.Cleanup(func() {
		e.srv.Close()
		e.st.Close()
	})
	return e
}

func ptr[T any](v T) *T { return &v }

// issue adds type "pro" (once) and issues a key with the given overrides.
func (e *env) issue(req IssueRequest) store.License {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.admin.AddType(ctx, store.LicenseType{Name: "pro", DisplayName: "专业版", MaxDevices: 1,
		CustomField1: "500", CustomField2: "100", CustomField3: "10"}); err != nil && !isErr(err, ErrTypeExists) {
		e.t.Fatal(err)
	}
	if req.Type == "" {
		req.Type = "pro"
	}
	l, err := e.admin.IssueKey(ctx, req)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// reply is a decoded client answer.
type reply struct {
	status int
	header http.Header
	body   []byte
	m      map[string]any
}

func (r reply) msg() string { s, _ := r.m["message"].(string); return s }
func (r reply) license() map[string]any {
	l, _ := r.m["license"].(map[string]any)
	return l
}

// post sends a client request with an optional nonce.
func (e *env) post(path string, body any, nonce string) reply {
	e.t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			e.t.Fatal(err)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if nonce != "" {
		req.Header.Set(signing.HeaderNonce, nonce)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, body: rb}
	if err := json.Unmarshal(rb, &r.m); err != nil {
		e.t.Fatalf("%s answered %d with non-JSON %q", path, resp.StatusCode, rb)
	}
	return r
}

func (e *env) verify(key, machine, info string) reply {
	e.t.Helper()
	if info == "" {
		info = licapi.DeviceInfoActivation + machine
	}
	return e.post(licapi.PathVerify, licapi.VerifyRequest{LicenseKey: key, MachineID: machine, DeviceInfo: info}, "")
}

func (e *env) switchDevice(key, from, to string) reply {
	e.t.Helper()
	return e.post(licapi.PathSwitchDevice, licapi.SwitchRequest{LicenseKey: key, OldMachineID: from, NewMachineID: to, Reason: "new server"}, "")
}

// want checks an answer's status, success and message.
func want(t testing.TB, r reply, status int, success bool, msg string) {
	t.Helper()
	if r.status != status || r.m["success"] != success || r.msg() != msg {
		t.Fatalf("got %d success=%v %q, want %d success=%v %q\nbody: %s", r.status, r.m["success"], r.msg(), status, success, msg, r.body)
	}
}
