package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The host against the on-prem license server (cmd/licensed), with its
// public key pinned: signed answers verify, and a host pinned to the wrong
// key refuses the same answers.
func TestAgainstLicensedServer(t *testing.T) {
	ld := t.TempDir()
	lic := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(licensedBin, append(args, "--data-dir", ld)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output() // stdout only: the key or public key
		if err != nil {
			t.Fatalf("licensed %v: %v\n%s%s", args, err, out, stderr.String())
		}
		return strings.TrimSpace(string(out))
	}
	lic("init", "--app-name", "e2e")
	pub := lic("pubkey")
	lic("type", "add", "annual", "--display", "年度版", "--max-devices", "1", "--field1", "500", "--field2", "50", "--validity", "30d")
	key := lic("key", "issue", "--type", "annual")

	serve := exec.Command(licensedBin, "serve", "--data-dir", ld, "--listen", "127.0.0.1:0")
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	var url string
	for deadline := time.Now().Add(20 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(ld, "licensed.addr")); err == nil {
			url = strings.TrimSpace(string(b))
		}
	}
	if url == "" {
		t.Fatal("licensed did not write its address")
	}
	h := startHost(t, t.TempDir(), "--license-server", url, "--server-public-key", pub, "--machine-id", "server_000000000000c0de")
	res, err := h.activate(key)
	if err != nil || !res.Success || res.Status != "active" {
		t.Fatalf("activate against licensed: %+v %v", res, err)
	}
	st := h.status()
	if st.Edition != "annual" && st.Edition != "年度版" || *st.Limits.Total != 500 || *st.Limits.Batch != 50 {
		t.Fatalf("status: %+v", st)
	}
	// Checklist 3 against licensed: a suspended key fails the refresh
	// definitively (403 passed through), the installation enters grace;
	// resumed, the refresh succeeds again.
	lic("key", "suspend", key)
	_, err = h.client.Heartbeat(context.Background())
	if ae := actionErr(t, err); ae.StatusCode != 422 || ae.Response.RemoteError.HTTPStatus != 403 || ae.Response.Fallback.Status != "grace" {
		t.Fatalf("heartbeat of a suspended key: %d %+v", ae.StatusCode, ae.Response)
	}
	lic("key", "resume", key)
	if res, err := h.client.Heartbeat(context.Background()); err != nil || res.Status != "active" {
		t.Fatalf("heartbeat after resume: %+v %v", res, err)
	}

	// A second machine hits the device limit: a definitive rejection.
	h2 := startHost(t, t.TempDir(), "--license-server", url, "--server-public-key", pub, "--machine-id", "server_000000000000beef")
	_, err = h2.activate(key)
	if ae := actionErr(t, err); ae.StatusCode != 422 || ae.Response.RemoteError.HTTPStatus != 403 {
		t.Fatalf("second device: %d %+v", ae.StatusCode, ae.Response)
	}
	// Checklist 8 against licensed: the first machine hands its license to
	// the second, which then activates.
	if res, err := h.client.SwitchDevice(context.Background(), "server_000000000000beef", "new hardware"); err != nil || res.Status != "switching" {
		t.Fatalf("switch: %+v %v", res, err)
	}
	if res, err := h2.activate(key); err != nil || res.Status != "active" {
		t.Fatalf("second machine after the switch: %+v %v", res, err)
	}

	// Pinned to another key, the same server's answers are refused as untrusted.
	other := t.TempDir()
	lic2 := exec.Command(licensedBin, "init", "--data-dir", other)
	if out, err := lic2.CombinedOutput(); err != nil {
		t.Fatalf("init other: %v %s", err, out)
	}
	wrong, err := exec.Command(licensedBin, "pubkey", "--data-dir", other).Output()
	if err != nil {
		t.Fatal(err)
	}
	h3 := startHost(t, t.TempDir(), "--license-server", url, "--server-public-key", strings.TrimSpace(string(wrong)), "--machine-id", "server_000000000000c0de")
	_, err = h3.activate(key)
	ae := actionErr(t, err)
	if ae.StatusCode != 502 || !strings.Contains(ae.Response.Message, "signature") {
		t.Fatalf("wrong pinned key: %d %+v", ae.StatusCode, ae.Response)
	}
	if st := h3.status(); st.Status != "pending" {
		t.Fatalf("an unverifiable answer must not activate: %+v", st)
	}
}
