package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/internal/e2etest"
)

// A policy module decides by feature (sdk/examples/features, built here
// for WebAssembly): the host passes the enabled features in its input, so a
// CDC job is refused under pre-authorization alone and allowed once the
// online license grants data.cdc.
func TestFeaturePolicyEndToEnd(t *testing.T) {
	wasm := filepath.Join(t.TempDir(), "features.wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-buildvcs=false", "-o", wasm, "./examples/features")
	build.Dir = filepath.Join("..", "..", "sdk")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building sdk/examples/features: %v\n%s", err, out)
	}
	b, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	pdir, _ := e2etest.PolicyDir(t, "features", b, "default", "")
	prod := filepath.Join(t.TempDir(), "product.json")
	if err := os.WriteFile(prod, []byte(`{"version":1,"product":"P",
		"features":[{"name":"data.source"},{"name":"data.cdc"},{"name":"bulk.create"}],
		"preauth":{"days":180,"features":["data.source"]},
		"licenseTypes":{"年度版":["data.source","data.cdc"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := newLicenseServer(t)
	srv.SetField(e2eKey, "customField2", "")
	h := startHost(t, t.TempDir(), append(fast(srv, "7", "15"), "--policy-dir", pdir, "--product", prod)...)
	ctx := context.Background()

	q, err := h.client.QuotaCheck(ctx, api.QuotaCheckRequest{Batch: 1, Resource: "cdc-jobs"})
	if err != nil || q.Allowed || q.Reason != "feature_not_licensed" || q.Policy != "wasm:features" {
		t.Fatalf("a CDC job under pre-authorization: %+v %v", q, err)
	}
	q, err = h.client.QuotaCheck(ctx, api.QuotaCheckRequest{Batch: 1, Resource: "sources"})
	if err != nil || !q.Allowed || q.Policy != "wasm:features" {
		t.Fatalf("a data source under pre-authorization: %+v %v", q, err)
	}
	h.mustActivate(e2eKey)
	q, err = h.client.QuotaCheck(ctx, api.QuotaCheckRequest{Batch: 1, Resource: "cdc-jobs"})
	if err != nil || !q.Allowed || q.Policy != "wasm:features" {
		t.Fatalf("a CDC job with the annual license (data.cdc): %+v %v", q, err)
	}
	q, err = h.client.QuotaCheck(ctx, api.QuotaCheckRequest{Batch: 21, Resource: "sources"})
	if err != nil || q.Allowed || q.Reason != "feature_not_licensed" {
		t.Fatalf("a bulk of 21 without bulk.create: %+v %v", q, err)
	}
}
