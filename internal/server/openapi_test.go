package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/api/apitest"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/internal/server"
)

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
}

// Without metrics, /metrics is neither served nor documented.
func TestOpenAPIWithoutMetrics(t *testing.T) {
	eng, err := engine.New(engine.Options{Store: enginetest.NewMemStore(), Remote: &enginetest.Remote{},
		Clock: enginetest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), Config: engine.DefaultConfig(), MachineID: "server_0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(eng, server.Options{AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
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
