package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/internal/server"
)

const appToken = "app-token-for-tests-0123456789ab"

var featT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func featureProduct() engine.Product {
	return engine.Product{
		Name:            "Integration Platform",
		Features:        []engine.Feature{{Name: "data.source", Title: "数据源管理"}, {Name: "data.cdc", Title: "CDC"}},
		Preauth:         180 * 24 * time.Hour,
		PreauthFeatures: []string{"data.source"},
		LicenseTypes:    map[string][]string{"终生赞助版": {"*"}},
	}
}

func newFeatureServer(t *testing.T, p engine.Product) (*httptest.Server, *enginetest.Clock, *engine.Engine) {
	t.Helper()
	clock := enginetest.NewClock(featT0)
	eng := testEngine(t, func(o *engine.Options) { o.Clock, o.Product = clock, p })
	if err := eng.StartFeatures(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts, _ := testServer(t, eng, server.Options{AdminToken: adminToken, AppToken: appToken})
	return ts, clock, eng
}

func callAs(t *testing.T, ts *httptest.Server, token, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), method, ts.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := validating(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func TestFeaturesRoutes(t *testing.T) {
	ts, clock, _ := newFeatureServer(t, featureProduct())

	var list api.FeaturesResponse
	if code := callAs(t, ts, appToken, "GET", api.PathFeatures, "", &list); code != 200 {
		t.Fatalf("GET features with the app token: %d", code)
	}
	if list.Product != "Integration Platform" || len(list.Features) != 2 || list.Preauth == nil || list.Preauth.DaysLeft != 180 {
		t.Fatalf("features = %+v", list)
	}
	src := list.Features[0]
	if !src.Enabled || src.Kind != "preauth" || src.Source != "preauth" || src.DaysLeft == nil || *src.DaysLeft != 180 || src.ExpiresAt == nil || src.Title != "数据源管理" {
		t.Fatalf("data.source = %+v", src)
	}
	cdc := list.Features[1]
	if cdc.Enabled || cdc.Reason != api.FeatureNotLicensed || cdc.ExpiresAt != nil || cdc.DaysLeft != nil {
		t.Fatalf("data.cdc = %+v", cdc)
	}

	check := func(token, body string, wantCode int) api.FeatureCheckResponse {
		t.Helper()
		var r api.FeatureCheckResponse
		if code := callAs(t, ts, token, "POST", api.PathFeatureCheck, body, &r); code != wantCode {
			t.Fatalf("check %s: %d, want %d (%+v)", body, code, wantCode, r)
		}
		return r
	}
	if r := check(appToken, `{"feature":"data.source"}`, 200); !r.Allowed || r.Kind != "preauth" || r.Source != "preauth" || r.ExpiresAt == nil || r.Reason != "" {
		t.Fatalf("allowed answer = %+v", r)
	}
	if r := check(adminToken, `{"feature":"data.cdc"}`, 403); r.Allowed || r.Reason != api.FeatureNotLicensed || r.Feature != "data.cdc" || r.Message == "" {
		t.Fatalf("refused answer = %+v", r)
	}
	if r := check(appToken, `{"feature":"no.such"}`, 403); r.Reason != api.FeatureUnknown {
		t.Fatalf("unknown = %+v", r)
	}
	clock.Advance(181 * 24 * time.Hour)
	if r := check(appToken, `{"feature":"data.source"}`, 403); r.Reason != api.FeaturePreauthOver || !strings.Contains(r.Message, "pre-authorization") {
		t.Fatalf("preauth over = %+v", r)
	}

	// Bad input: one clear 400, never a 5xx.
	for _, body := range []string{`{"feature":""}`, `{}`, `{"feature":"Data.CDC"}`, `{"feature":"` + strings.Repeat("a", 65) + `"}`,
		`{"feature":1}`, `{"feature":"a","x":1}`, `not json`, `{"feature":"a"} {}`} {
		var e api.Error
		if code := callAs(t, ts, appToken, "POST", api.PathFeatureCheck, body, &e); code != 400 || e.Message == "" {
			t.Errorf("check %s: %d %+v, want 400 with a message", body, code, e)
		}
	}
	if code := callAs(t, ts, "", "POST", api.PathFeatureCheck, `{"feature":"data.source"}`, nil); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code := callAs(t, ts, "wrong", "GET", api.PathFeatures, "", nil); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	if code := callAs(t, ts, appToken, "GET", api.PathFeatureCheck, "", nil); code != 405 {
		t.Fatalf("GET check: %d", code)
	}
}

func TestStatusCarriesFeatures(t *testing.T) {
	ts, _, _ := newFeatureServer(t, featureProduct())
	var st map[string]any
	if code := callAs(t, ts, appToken, "GET", api.PathStatus, "", &st); code != 200 {
		t.Fatal(code)
	}
	feats, ok := st["features"].([]any)
	pre, ok2 := st["preauth"].(map[string]any)
	if !ok || len(feats) != 2 || !ok2 || pre["daysLeft"] != 180.0 || pre["superseded"] != false || pre["startedAt"] != featT0.Format(time.RFC3339) {
		t.Fatalf("status features = %v, preauth = %v", st["features"], st["preauth"])
	}
}

// Without a product file the status has no feature fields and the feature
// routes answer an empty list.
func TestNoProductNoFeatureFields(t *testing.T) {
	ts, _, _ := newFeatureServer(t, engine.Product{})
	var st map[string]any
	callAs(t, ts, adminToken, "GET", api.PathStatus, "", &st)
	if _, ok := st["features"]; ok {
		t.Fatalf("status has features without a product: %v", st["features"])
	}
	if _, ok := st["preauth"]; ok {
		t.Fatalf("status has preauth without a product")
	}
	var list map[string]any
	callAs(t, ts, adminToken, "GET", api.PathFeatures, "", &list)
	if f, ok := list["features"].([]any); !ok || len(f) != 0 || list["preauth"] != nil || list["product"] != "" {
		t.Fatalf("features without a product = %v", list)
	}
	var r api.FeatureCheckResponse
	if code := callAs(t, ts, appToken, "POST", api.PathFeatureCheck, `{"feature":"data.cdc"}`, &r); code != 403 || r.Reason != api.FeatureUnknown {
		t.Fatalf("check without a product: %d %+v", code, r)
	}
}
