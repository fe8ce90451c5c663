package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/api/apitest"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/internal/server"
)

const adminToken = "admin-token-for-tests-0123456789"

func newServer(t *testing.T) (*httptest.Server, *server.Server) {
	t.Helper()
	m := server.NewMetrics()
	eng := testEngine(t, func(o *engine.Options) { o.Observer = m })
	return testServer(t, eng, server.Options{AdminToken: adminToken, Metrics: m})
}

// testEngine is an engine over a memory store and a fake license server,
// its clock at 2026-01-01 UTC; with, when not nil, changes its options.
func testEngine(t testing.TB, with func(*engine.Options)) *engine.Engine {
	t.Helper()
	o := engine.Options{Store: enginetest.NewMemStore(), Remote: &enginetest.Remote{},
		Clock:  enginetest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		Config: engine.DefaultConfig(), MachineID: "server_0123456789abcdef"}
	if with != nil {
		with(&o)
	}
	eng, err := engine.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// newAPI is the API handler over eng with opt.
func newAPI(t testing.TB, eng server.Engine, opt server.Options) *server.Server {
	t.Helper()
	s, err := server.New(eng, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testServer serves eng with opt on loopback HTTP until the test ends.
func testServer(t testing.TB, eng server.Engine, opt server.Options) (*httptest.Server, *server.Server) {
	t.Helper()
	s := newAPI(t, eng, opt)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts, s
}

func call(t *testing.T, ts *httptest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	a := do(t, validating(t), method, ts.URL+path, map[string]string{"Authorization": "Bearer " + adminToken}, body)
	return a.code, a.body
}

// Every route in the OpenAPI document is served, and every served route is
// in the document.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	ts, s := newServer(t)
	code, doc := call(t, ts, "GET", api.PathOpenAPI, "")
	if code != 200 || doc["openapi"] != "3.0.3" {
		t.Fatalf("openapi: %d %v", code, doc["openapi"])
	}
	var documented []string
	for path, ops := range doc["paths"].(map[string]any) {
		for method := range ops.(map[string]any) {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(documented)
	served := s.Routes()
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Fatalf("documented:\n%s\nserved:\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
}

func TestBadBodies(t *testing.T) {
	ts, _ := newServer(t)
	cases := []struct {
		name, path, body string
		code             int
	}{
		{"not JSON", api.PathActivate, "{licenseKey:", 400},
		{"unknown field", api.PathActivate, `{"key":"x"}`, 400},
		{"trailing data", api.PathActivate, `{"licenseKey":"abcdefgh"} {}`, 400},
		{"wrong type", api.PathQuotaCheck, `{"batch":"ten"}`, 400},
		{"batch zero", api.PathQuotaCheck, `{"batch":0}`, 400},
		{"negative used", api.PathQuotaCheck, `{"batch":1,"used":-5}`, 400},
		{"bad idempotency key", api.PathQuotaConsume, `{"batch":1,"idempotencyKey":"a b"}`, 400},
		{"too large", api.PathActivate, `{"licenseKey":"` + strings.Repeat("x", 2<<20) + `"}`, 413},
		{"empty key", api.PathActivate, `{"licenseKey":""}`, 400},
		{"control char key", api.PathActivate, `{"licenseKey":"ab\u0000cd"}`, 400},
		{"bad machine code", api.PathSwitchDevice, `{"newMachineId":"server_x"}`, 400},
		{"no license heartbeat", api.PathHeartbeat, ``, 409},
		{"bad events limit", api.PathEvents + "?limit=0", ``, 400},
		{"reload without policy dir", api.PathPolicyReload, ``, 409},
	}
	for _, c := range cases {
		method := "POST"
		if strings.HasPrefix(c.path, api.PathEvents) {
			method = "GET"
		}
		code, body := call(t, ts, method, c.path, c.body)
		if code != c.code || body["success"] != false || body["message"] == "" {
			t.Errorf("%s: %d %v, want %d with a message", c.name, code, body, c.code)
		}
	}
	// Nothing was stored by any of it.
	code, st := call(t, ts, "GET", api.PathStatus, "")
	if code != 200 || st["status"] != "community" {
		t.Fatalf("status after bad input: %d %v", code, st)
	}
	_, body := call(t, ts, "POST", api.PathActivate, `{"licenseKey":""}`)
	if body["message"] != "Invalid license key format" {
		t.Fatalf("wording: %v", body["message"])
	}
}

// TestBodyWording: a bad body's message names the field by its JSON name
// and the kind of value it takes, never a Go type; a member named twice is
// refused, and so is a name in another case than api/openapi.json's.
func TestBodyWording(t *testing.T) {
	ts, _ := newServer(t)
	cases := []struct {
		name, path, body string
		code             int
		want             string // in the message
	}{
		{"unknown field", api.PathQuotaCheck, `{"batch":1,"size":2}`, 400, `invalid JSON body: unknown field "size"`},
		{"unknown field in empty body", api.PathClear, `{"force":true}`, 400, `unknown field "force"`},
		{"duplicate field", api.PathQuotaCheck, `{"batch":1,"batch":20000}`, 400, `duplicate object member name "batch"`},
		{"wrong type", api.PathQuotaCheck, `{"batch":"ten"}`, 400, `field "/batch" must be a whole number, not a string`},
		{"fraction", api.PathQuotaCheck, `{"batch":1.5}`, 400, `field "/batch" must be a whole number, not a number`},
		{"overflow", api.PathQuotaCheck, `{"batch":99999999999999999999}`, 400, `out of range`},
		{"array body", api.PathQuotaCheck, `[1]`, 400, `the body must be an object, not an array`},
		{"trailing data", api.PathQuotaCheck, `{"batch":1} {}`, 400, `after top-level value`},
		{"cut short", api.PathQuotaCheck, `{"batch":1`, 400, `unexpected EOF`},
		{"not UTF-8", api.PathQuotaCheck, "{\"resource\":\"\xff\"}", 400, `not valid UTF-8`},
		{"name in capitals", api.PathQuotaCheck, `{"Batch":1}`, 400, `unknown field "Batch"`},
	}
	for _, c := range cases {
		code, body := call(t, ts, "POST", c.path, c.body)
		msg, _ := body["message"].(string)
		if code != c.code || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %q, want %d with %q", c.name, code, msg, c.code, c.want)
		}
		for _, leak := range []string{"Go ", "int64", "api.", "jsontext"} {
			if strings.Contains(msg, leak) {
				t.Errorf("%s: message %q speaks of the implementation (%q)", c.name, msg, leak)
			}
		}
	}
}

func TestMetrics(t *testing.T) {
	ts, _ := newServer(t)
	call(t, ts, "POST", api.PathQuotaCheck, `{"batch":5}`)
	call(t, ts, "POST", api.PathQuotaCheck, `{"batch":50}`)
	text := metricsText(t, ts)
	for _, want := range []string{
		`licensehost_license_status{status="community"} 1`,
		`licensehost_quota_decisions_total{reason="ok",result="allowed"} 1`,
		`licensehost_quota_decisions_total{reason="batch_exceeded",result="refused"} 1`,
		`licensehost_remote_calls_total{kind="heartbeat",result="failed"} 0`,
		`licensehost_policy_fallbacks_total 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// metricsText is GET /metrics as the admin.
func metricsText(t *testing.T, ts *httptest.Server) string {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL+api.PathMetrics, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := validating(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// reasonPerCall is a hostile policy: a new reason code at every decision.
type reasonPerCall struct{ n atomic.Int64 }

func (p *reasonPerCall) Decide(_ context.Context, in engine.QuotaInput) (engine.QuotaDecision, error) {
	return engine.QuotaDecision{Allowed: false, Reason: fmt.Sprintf("r%d", p.n.Add(1)), Policy: "hostile"}, nil
}

func (*reasonPerCall) Close(context.Context) error { return nil }

// A policy that names a new reason at every decision does not grow the
// metrics without end: past the first 100 (result, reason) series the
// decisions are counted under "_other", and none is lost.
func TestMetricsReasonsBounded(t *testing.T) {
	m := server.NewMetrics()
	eng := testEngine(t, func(o *engine.Options) { o.Observer = m; o.Policy = &reasonPerCall{} })
	ts, _ := testServer(t, eng, server.Options{AdminToken: adminToken, Metrics: m})
	const calls = 400
	for range calls {
		call(t, ts, "POST", api.PathQuotaCheck, `{"batch":5}`)
	}
	text := metricsText(t, ts)
	series, total := 0, 0
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "licensehost_quota_decisions_total{") {
			continue
		}
		series++
		var n int
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &n); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		total += n
	}
	if series > 101 || total != calls {
		t.Fatalf("%d series counting %d decisions; want at most 101 (100 reasons and _other) counting %d", series, total, calls)
	}
	if want := `licensehost_quota_decisions_total{reason="_other",result="refused"} 300`; !strings.Contains(text, want) {
		t.Errorf("metrics lack %q", want)
	}
}

func TestNewNeedsToken(t *testing.T) {
	if _, err := server.New(nil, server.Options{AdminToken: "  "}); err == nil {
		t.Fatal("an empty admin token was accepted")
	}
}

// validating is an HTTP client that checks every answer against
// api/openapi.json (api/apitest); every test of this package calls through it.
func validating(t *testing.T) *http.Client {
	return &http.Client{Transport: apitest.Transport(t, nil)}
}

// A handler's answer that drifts from the document is refused by the
// validator the tests use: each mutation of a real answer fails, the
// answer as served passes.
func TestOpenAPIRejectsDrift(t *testing.T) {
	ts, _ := newServer(t)
	v, err := apitest.New()
	if err != nil {
		t.Fatal(err)
	}
	get := func(method, path, body string) (*http.Request, *http.Response, []byte) {
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return req, resp, b
	}
	mutate := func(b []byte, fn func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		fn(m)
		out, _ := json.Marshal(m)
		return out
	}

	req, resp, status := get("GET", api.PathStatus, "")
	if err := v.Check(req, resp.StatusCode, resp.Header, status); err != nil {
		t.Fatalf("the status as served: %v", err)
	}
	qreq, qresp, quota := get("POST", api.PathQuotaCheck, `{"batch":500}`)
	if qresp.StatusCode != 403 {
		t.Fatalf("quota check of 500: %d", qresp.StatusCode)
	}
	if err := v.Check(qreq, qresp.StatusCode, qresp.Header, quota); err != nil {
		t.Fatalf("the quota refusal as served: %v", err)
	}
	for _, c := range []struct {
		name   string
		req    *http.Request
		status int
		header http.Header
		body   []byte
	}{
		{"required field dropped", req, 200, resp.Header, mutate(status, func(m map[string]any) { delete(m, "isSponsored") })},
		{"undocumented field added", req, 200, resp.Header, mutate(status, func(m map[string]any) { m["tier"] = "gold" })},
		{"field of the wrong type", req, 200, resp.Header, mutate(status, func(m map[string]any) { m["trustDays"] = "7" })},
		{"status outside its enum", req, 200, resp.Header, mutate(status, func(m map[string]any) { m["status"] = "licensed" })},
		{"limit of the wrong type", req, 200, resp.Header, mutate(status, func(m map[string]any) { m["limits"] = map[string]any{"total": "200", "batch": 20} })},
		{"nested field renamed", req, 200, resp.Header, mutate(status, func(m map[string]any) { m["usage"] = map[string]any{"count": 0} })},
		{"error body on a 200", req, 200, resp.Header, []byte(`{"success":false,"error":"internal","message":"x"}`)},
		{"not JSON", req, 200, resp.Header, []byte(`status: community`)},
		{"wrong content type", req, 200, http.Header{"Content-Type": {"text/html"}}, status},
		{"refusal without its reason", qreq, 403, qresp.Header, mutate(quota, func(m map[string]any) { delete(m, "reason") })},
		{"status answer on the quota route", qreq, 403, qresp.Header, status},
		{"undocumented status with a quota body", qreq, 409, qresp.Header, quota},
	} {
		if err := v.Check(c.req, c.status, c.header, c.body); err == nil {
			t.Errorf("%s: the validator accepted %s", c.name, c.body)
		}
	}
	// A request the server accepts must be one the document describes.
	if err := v.CheckAccepted(qreq, []byte(`{"batch":500}`)); err != nil {
		t.Fatalf("the quota request as sent: %v", err)
	}
	for _, body := range []string{`{"batch":"500"}`, `{"batch":500,"tier":"gold"}`, `{}`} {
		if err := v.CheckAccepted(qreq, []byte(body)); err == nil {
			t.Errorf("the validator accepted the request %s", body)
		}
	}
}

// Without metrics, /metrics is neither served nor documented.
func TestOpenAPIWithoutMetrics(t *testing.T) {
	s := newAPI(t, testEngine(t, nil), server.Options{AdminToken: adminToken})
	for _, r := range s.Routes() {
		if strings.HasSuffix(r, api.PathMetrics) {
			t.Fatalf("served without metrics: %s", r)
		}
	}
	req, _ := http.NewRequest("GET", api.PathOpenAPI, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || len(doc.Paths) == 0 {
		t.Fatalf("document: %v %.200s", err, rec.Body.String())
	}
	if _, ok := doc.Paths[api.PathMetrics]; ok {
		t.Fatal("/metrics documented without metrics")
	}
}
