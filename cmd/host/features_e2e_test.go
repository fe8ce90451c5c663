package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/hostclient"
)

// End-to-end feature licensing (docs/features.md): the real binary with a
// product file, the real licensed for the online license.

func writeProduct(t *testing.T, preauth string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "product.json")
	body := `{"version": 1, "product": "E2E Platform",
 "features": [{"name": "data.source", "title": "数据源管理"}, {"name": "data.ingest", "title": "数据接入"}, {"name": "data.cdc", "title": "CDC"}],
 "preauth": {"days": ` + preauth + `, "features": ["data.source", "data.ingest"]},
 "licenseTypes": {"annual": ["data.source", "data.cdc"]}}`
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startLicensed runs the real licensed with one license type "annual" and
// returns its URL, public key and a fresh key of that type.
func startLicensed(t *testing.T) (url, pub, key string) {
	t.Helper()
	ls := newLicensed(t)
	ls.lic("type", "add", "annual", "--display", "年度版", "--max-devices", "1", "--validity", "30d")
	key = ls.lic("key", "issue", "--type", "annual")
	ls.serve(t)
	return ls.url, ls.pub, key
}

func (h *host) features() *api.FeaturesResponse {
	h.t.Helper()
	fr, err := h.client.Features(context.Background())
	if err != nil {
		h.t.Fatalf("features: %v", err)
	}
	return fr
}

func checkFeature(t *testing.T, c *hostclient.Client, name string, allowed bool, kind, source, reason string) *api.FeatureCheckResponse {
	t.Helper()
	r, err := c.CheckFeature(context.Background(), name)
	if err != nil {
		t.Fatalf("check %s: %v", name, err)
	}
	if r.Allowed != allowed || r.Kind != kind || r.Source != source || r.Reason != reason {
		t.Fatalf("check %s = %+v, want allowed %v kind %q source %q reason %q", name, r, allowed, kind, source, reason)
	}
	return r
}

func hostCLI(h *host, args ...string) (stdout, stderr string, code int) {
	cmd := exec.Command(hostBin, args...)
	cmd.Env = append(os.Environ(), "LICENSEHOST_URL="+h.url, "LICENSEHOST_DATA_DIR="+h.dataDir)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return o.String(), e.String(), code
}

// A fresh host with a product file: pre-authorized features on, others
// refused, unknown ones unknown; the app token can check; restart and clear
// never restart the pre-authorization; the online license (real licensed)
// turns its type's features on as formal/online and supersedes the
// pre-authorization for good, even after clear and restart.
func TestFeaturesEndToEnd(t *testing.T) {
	url, pub, key := startLicensed(t)
	prod := writeProduct(t, "180")
	dir := t.TempDir()
	appFile := filepath.Join(dir, "app.token")
	args := []string{"--license-server", url, "--server-public-key", pub, "--machine-id", "server_00000000000fea70",
		"--product", prod, "--app-token-file", appFile}
	h := startHost(t, dir, args...)
	appTok, err := hostclient.ReadTokenFile(appFile)
	if err != nil {
		t.Fatal(err)
	}
	app, _ := hostclient.New(h.url, appTok, validated(t))

	fr := h.features()
	if fr.Product != "E2E Platform" || len(fr.Features) != 3 || fr.Preauth == nil || fr.Preauth.Superseded || fr.Preauth.DaysLeft < 179.9 {
		t.Fatalf("fresh features = %+v", fr)
	}
	started := fr.Preauth.StartedAt
	checkFeature(t, app, "data.source", true, "preauth", "preauth", "")
	checkFeature(t, app, "data.ingest", true, "preauth", "preauth", "")
	checkFeature(t, app, "data.cdc", false, "", "", api.FeatureNotLicensed)
	checkFeature(t, app, "no.such.feature", false, "", "", api.FeatureUnknown)
	if st := h.status(); len(st.Features) != 3 || st.Preauth == nil || !st.Preauth.StartedAt.Equal(started) {
		t.Fatalf("status features = %+v preauth = %+v", st.Features, st.Preauth)
	}

	// The CLI: exit 0 allowed, 1 refused with the reason on stderr, 2 bad name.
	if out, _, code := hostCLI(h, "features", "check", "data.source"); code != 0 || !strings.Contains(out, "allowed") {
		t.Fatalf("features check data.source: %d %s", code, out)
	}
	if _, errOut, code := hostCLI(h, "features", "check", "data.cdc"); code != 1 || !strings.Contains(errOut, "not_licensed") {
		t.Fatalf("features check data.cdc: %d %q", code, errOut)
	}
	if _, errOut, code := hostCLI(h, "features", "check", "Data CDC"); code != 2 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("features check with a bad name: %d %q", code, errOut)
	}
	if out, _, code := hostCLI(h, "features"); code != 0 || !strings.Contains(out, "data.cdc") || !strings.Contains(out, "refused: not_licensed") || !strings.Contains(out, "180.0 days left") {
		t.Fatalf("features: %d %s", code, out)
	}
	if out, _, code := hostCLI(h, "features", "--json"); code != 0 || !strings.Contains(out, `"product": "E2E Platform"`) {
		t.Fatalf("features --json: %d %s", code, out)
	}

	// Restart and clear do not restart the pre-authorization.
	h.stop()
	h = startHost(t, dir, args...)
	if _, err := h.client.Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fr := h.features(); !fr.Preauth.StartedAt.Equal(started) || fr.Preauth.Superseded {
		t.Fatalf("after restart and clear: %+v, want the start %v kept", fr.Preauth, started)
	}

	// The online license: its type's features on, formal/online.
	if res, err := h.activate(key); err != nil || res.Status != "active" {
		t.Fatalf("activate: %+v %v", res, err)
	}
	app, _ = hostclient.New(h.url, appTok, validated(t))
	r := checkFeature(t, app, "data.cdc", true, "formal", "online", "")
	if r.ExpiresAt == nil || r.ExpiresAt.Before(time.Now().Add(29*24*time.Hour)) {
		t.Fatalf("data.cdc expires %v, want the license's 30 days", r.ExpiresAt)
	}
	checkFeature(t, app, "data.source", true, "formal", "online", "")
	checkFeature(t, app, "data.ingest", false, "preauth", "preauth", api.FeaturePreauthOver)
	if fr := h.features(); !fr.Preauth.Superseded || fr.Preauth.DaysLeft != 0 {
		t.Fatalf("pre-authorization not superseded: %+v", fr.Preauth)
	}

	// Superseded for good: clear and restart do not bring it back.
	if _, err := h.client.Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkFeature(t, app, "data.source", false, "preauth", "preauth", api.FeaturePreauthOver)
	h.stop()
	h = startHost(t, dir, args...)
	app, _ = hostclient.New(h.url, appTok, validated(t))
	checkFeature(t, app, "data.source", false, "preauth", "preauth", api.FeaturePreauthOver)
	checkFeature(t, app, "data.cdc", false, "", "", api.FeatureNotLicensed)
	if fr := h.features(); !fr.Preauth.Superseded || !fr.Preauth.StartedAt.Equal(started) {
		t.Fatalf("after clear and restart: %+v", fr.Preauth)
	}
	// The app token stays read-only.
	if _, err := app.Clear(context.Background()); !errors.Is(err, hostclient.ErrForbidden) {
		t.Fatalf("app token clear: %v", err)
	}
}

// Pre-authorization runs out: preauth_over, and a restart does not revive it.
func TestFeaturesPreauthOverEndToEnd(t *testing.T) {
	prod := writeProduct(t, `"3s"`)
	dir := t.TempDir()
	args := []string{"--license-server", "http://127.0.0.1:1", "--product", prod}
	h := startHost(t, dir, args...)
	fr := h.features()
	if fr.Preauth == nil || fr.Preauth.EndsAt.Sub(fr.Preauth.StartedAt) != 3*time.Second {
		t.Fatalf("preauth = %+v", fr.Preauth)
	}
	started := fr.Preauth.StartedAt
	// Wait for the end by the host's own account (bounded for a loaded machine).
	deadline := time.Now().Add(60 * time.Second)
	for h.features().Preauth.DaysLeft > 0 {
		if time.Now().After(deadline) {
			t.Fatal("pre-authorization of 3s still running after 60s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if time.Since(started) < 3*time.Second {
		t.Fatalf("pre-authorization over %v after its start, before its 3s", time.Since(started))
	}
	checkFeature(t, h.client, "data.source", false, "preauth", "preauth", api.FeaturePreauthOver)
	checkFeature(t, h.client, "data.cdc", false, "", "", api.FeatureNotLicensed)
	if _, errOut, code := hostCLI(h, "features", "check", "data.source"); code != 1 || !strings.Contains(errOut, "preauth_over") {
		t.Fatalf("features check after the end: %d %q", code, errOut)
	}
	h.stop()
	h = startHost(t, dir, args...)
	checkFeature(t, h.client, "data.source", false, "preauth", "preauth", api.FeaturePreauthOver)
	if fr := h.features(); !fr.Preauth.StartedAt.Equal(started) {
		t.Fatalf("restart moved the start: %v, was %v", fr.Preauth.StartedAt, started)
	}
}

// A bad product file stops the host with one line naming the file and the
// field, exit 2, before anything is written.
func TestBadProductFileExit2(t *testing.T) {
	dir := t.TempDir()
	bad := map[string]string{
		"bad-name.json": `{"version":1,"product":"P","features":[{"name":"Data.CDC"}]}`,
		"unknown.json":  `{"version":1,"product":"P","edition":"x"}`,
		"syntax.json":   `{"version":1,`,
	}
	for name, body := range bad {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, field := range map[string]string{"bad-name.json": "features[0].name", "unknown.json": "edition", "syntax.json": "truncated", "missing.json": "cannot read"} {
		data := t.TempDir()
		p := filepath.Join(dir, name)
		for _, how := range []string{"flag", "env"} {
			cmd := exec.Command(hostBin, "--listen", "127.0.0.1:0", "--data-dir", data)
			cmd.Env = os.Environ()
			if how == "flag" {
				cmd.Args = append(cmd.Args, "--product", p)
			} else {
				cmd.Env = append(cmd.Env, "LICENSEHOST_PRODUCT="+p)
			}
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("%s by %s: %v, want exit 2 (%s)", name, how, err, out)
			}
			line := strings.TrimSpace(string(out))
			if strings.Contains(line, "\n") || !strings.Contains(line, "product file "+p) || !strings.Contains(line, field) {
				t.Fatalf("%s by %s: want one line naming %s and %s, got %q", name, how, p, field, out)
			}
		}
		if entries, _ := os.ReadDir(data); len(entries) != 0 {
			t.Fatalf("%s: the host wrote %d entries into the data directory", name, len(entries))
		}
	}
}
