package server_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/internal/server"
)

type listingPolicies struct{}

func (listingPolicies) PolicyFor(string) string          { return "wasm:tiered" }
func (listingPolicies) Reload(ctx context.Context) error { return nil }
func (listingPolicies) PolicyRoutes() ([]api.PolicyRoute, []api.PolicyStats) {
	return []api.PolicyRoute{{Match: "年度*", Policy: "wasm:tiered", Kind: "wasm", Path: "tiered.wasm", SHA256: "ab12"}, {Match: "default", Policy: "builtin"}},
		[]api.PolicyStats{{Policy: "wasm:tiered", Decisions: 3, Fallbacks: map[string]uint64{"trap": 1}}, {Policy: "builtin"}}
}

// GET /api/policy lists the routing rules and counters (admin only); with
// no policy directory the builtin decides for every license type.
func TestPolicyList(t *testing.T) {
	newSrv := func(p server.PolicyInfo) *httptest.Server {
		ts, _ := testServer(t, testEngine(t, nil), server.Options{AdminToken: adminToken, AppToken: sessAppToken, Policies: p})
		return ts
	}
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

	a := do(t, validating(t), "GET", newSrv(nil).URL+api.PathPolicy, bearer(adminToken), "")
	routes, _ := a.body["routes"].([]any)
	if a.code != 200 || a.body["configured"] != false || len(routes) != 1 || routes[0].(map[string]any)["policy"] != "builtin" {
		t.Fatalf("builtin: %d %v", a.code, a.body)
	}
	ts := newSrv(listingPolicies{})
	a = do(t, validating(t), "GET", ts.URL+api.PathPolicy, bearer(adminToken), "")
	routes, _ = a.body["routes"].([]any)
	stats, _ := a.body["stats"].([]any)
	if a.code != 200 || a.body["configured"] != true || len(routes) != 2 || routes[0].(map[string]any)["match"] != "年度*" ||
		len(stats) != 2 || stats[0].(map[string]any)["fallbacks"].(map[string]any)["trap"] != 1.0 || stats[1].(map[string]any)["fallbacks"] == nil {
		t.Fatalf("listing: %d %v", a.code, a.body)
	}
	if a := do(t, validating(t), "GET", ts.URL+api.PathPolicy, bearer(sessAppToken), ""); a.code != 403 {
		t.Fatalf("app token: %d", a.code)
	}
}
