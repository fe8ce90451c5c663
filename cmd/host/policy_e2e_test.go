package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/internal/e2etest"
)

// writePolicyDir copies the committed tiered.wasm fixture (built from
// sdk/examples/tiered) into a policy directory with a manifest routing
// 年度版 to it. Its timeout is 2 s: these tests are about routing and
// reloading, and a wall-clock deadline of 100 ms can pass on a loaded
// machine (the sandbox's own bounds: sandbox_e2e_test.go).
func writePolicyDir(t *testing.T, wasm string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "plugins", "wasm", "testdata", wasm))
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := e2etest.PolicyDir(t, "tiered", b, "年度*", `{"timeout":"2s"}`)
	return dir
}

// A Wasm policy decides per license type; a bad module on reload is
// refused and the previous policy stays in force.
func TestPolicyDirWasm(t *testing.T) {
	srv := newLicenseServer(t)
	// customField2 = 10, but tiered caps the annual batch at 50 from the
	// license's own limit: min(10, 50) = 10; total from customField1.
	srv.SetField(e2eKey, "customField2", "")
	pdir := writePolicyDir(t, "tiered.wasm")
	h := startHost(t, t.TempDir(), append(fast(srv, "7", "15"), "--policy-dir", pdir)...)
	ctx := context.Background()
	if st := h.status(); st.Policy != "builtin" {
		t.Fatalf("community policy: %q", st.Policy)
	}
	h.mustActivate(e2eKey)
	if st := h.status(); st.Policy != "wasm:tiered" {
		t.Fatalf("annual policy: %q", st.Policy)
	}
	q, err := h.client.QuotaCheck(ctx, api.QuotaCheckRequest{Batch: 51})
	if err != nil || q.Allowed || q.Policy != "wasm:tiered" || q.Limits.Batch == nil || *q.Limits.Batch != 50 {
		t.Fatalf("batch 51 under tiered: %+v %v", q, err)
	}
	q, err = h.client.QuotaCheck(ctx, api.QuotaCheckRequest{Batch: 50})
	if err != nil || !q.Allowed || q.Policy != "wasm:tiered" {
		t.Fatalf("batch 50 under tiered: %+v %v", q, err)
	}
	// Each of the module's decisions is counted, by module and outcome.
	metrics := h.metrics()
	if want := `licensehost_policy_decisions_total{outcome="ok",policy="wasm:tiered"} 2`; !strings.Contains(string(metrics), want) {
		t.Errorf("metrics lack %q:\n%s", want, metrics)
	}

	// Break the module: the reload is refused, tiered stays.
	if err := os.WriteFile(filepath.Join(pdir, "tiered.wasm"), []byte("\x00asm garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = h.client.ReloadPolicy(ctx)
	var ae *hostclient.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 422 || !strings.Contains(ae.Body.Message, "previous policies stay in force") {
		t.Fatalf("bad reload: %v", err)
	}
	if q, _ := h.client.QuotaCheck(ctx, api.QuotaCheckRequest{Batch: 50}); q == nil || q.Policy != "wasm:tiered" {
		t.Fatalf("after a refused reload: %+v", q)
	}
	// SIGHUP with the module restored reloads it.
	good := writePolicyDir(t, "tiered.wasm")
	b, _ := os.ReadFile(filepath.Join(good, "tiered.wasm"))
	if err := os.WriteFile(filepath.Join(pdir, "tiered.wasm"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(h.stderr.String(), "policies reloaded") {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload the policies")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if q, _ := h.client.QuotaCheck(ctx, api.QuotaCheckRequest{Batch: 50}); q == nil || !q.Allowed || q.Policy != "wasm:tiered" {
		t.Fatalf("after SIGHUP: %+v", q)
	}
}

func TestPolicyDirRefusedAtStart(t *testing.T) {
	pdir := writePolicyDir(t, "tiered.wasm")
	if err := os.WriteFile(filepath.Join(pdir, "tiered.wasm"), []byte("tampered"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runHost(t, "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--policy-dir", pdir)
	if code != 2 || !strings.Contains(out, "policy-dir") || !strings.Contains(out, "sha256") {
		t.Fatalf("tampered module at start: exit %d: %s", code, out)
	}
}

// A go-plugin policy that names a new reason code at every decision,
// through the real daemon: the quota metric keeps at most 100 reason
// series plus "_other", and counts every decision (without the bound each
// decision added a series, and the daemon's memory grew with them).
func TestPolicyReasonsCannotGrowTheMetrics(t *testing.T) {
	pdir := t.TempDir()
	bin := filepath.Join(pdir, "hostile")
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", bin, "../../plugins/goplugin/testdata/hostile")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the hostile plugin: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	manifest := fmt.Sprintf(`{"version":1,"modules":{"hostile":{"kind":"plugin","path":"hostile","sha256":%q}},
		"licenseTypes":[{"match":"default","module":"hostile"}]}`, hex.EncodeToString(sum[:]))
	if err := os.WriteFile(filepath.Join(pdir, "policies.json"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), append(fast(srv, "7", "15"), "--policy-dir", pdir)...)
	ctx := context.Background()
	const calls = 300
	for i := range calls {
		q, err := h.client.QuotaCheck(ctx, api.QuotaCheckRequest{Batch: 1, Used: new(int64), Resource: "newreason"})
		if err != nil || q.Allowed || q.Reason != fmt.Sprintf("r%d", i+1) {
			t.Fatalf("call %d: %+v %v", i+1, q, err)
		}
	}
	metrics := h.metrics()
	series, total := 0, 0
	for _, line := range strings.Split(string(metrics), "\n") {
		if !strings.HasPrefix(line, "licensehost_quota_decisions_total{") {
			continue
		}
		series++
		n, err := strconv.Atoi(line[strings.LastIndexByte(line, ' ')+1:])
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		total += n
	}
	if series > 101 || total != calls {
		t.Fatalf("%d quota series counting %d decisions; want at most 101 counting %d", series, total, calls)
	}
	if want := `licensehost_quota_decisions_total{reason="_other",result="refused"} 200`; !strings.Contains(string(metrics), want) {
		t.Errorf("metrics lack %q", want)
	}
}

// metrics is the daemon's GET /api/metrics text, read with the admin token.
func (h *host) metrics() []byte {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.url+api.PathMetrics, nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET %s: %d %v", api.PathMetrics, resp.StatusCode, err)
	}
	return b
}
