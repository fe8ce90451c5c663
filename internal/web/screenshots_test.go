package web_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/remotetest"
)

// TestScreenshots writes docs/img/web-*.png from the real page in Chromium
// against the real daemon: `make screenshots` (or screenshots-web) sets
// LICENSEHOST_WEB_SHOTS to the output directory. Without it the test is
// skipped.
func TestScreenshots(t *testing.T) {
	out := os.Getenv("LICENSEHOST_WEB_SHOTS")
	if out == "" {
		t.Skip("set LICENSEHOST_WEB_SHOTS=DIR (make screenshots-web)")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := newLicenseServer(t)
	h := startHost(t, srv)
	shot := func(tb *tab, name string) {
		t.Helper()
		tb.eval(`(() => { window.scrollTo(0, 0); document.activeElement && document.activeElement.blur(); return true; })()`, nil)
		ctx, cancel := tb.timeout()
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", filepath.Join(out, name), len(png))
	}
	elementShot := func(tb *tab, sel, name string) {
		t.Helper()
		ctx, cancel := tb.timeout()
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", filepath.Join(out, name), len(png))
	}
	viewport := func(tb *tab, w, hgt int64) {
		tb.do(chromedp.EmulateViewport(w, hgt))
	}

	en := newTab(t, "en-US,en")
	viewport(en, 1100, 860)
	en.open(h.url + "/")
	shot(en, "web-signin.png")
	en.signIn(h.admin)

	// Activation error: a suspended key, the server's reason shown.
	en.fill("licenseKey", keySuspend)
	en.click(`#activate button[type="submit"]`)
	en.waitText(`#activate [data-f="result"]`, "License server said (HTTP 403)")
	en.idle("#activate")
	elementShot(en, "#activate", "web-activate-error.png")

	// Active, with the license details open.
	en.fill("licenseKey", keyAnnual)
	en.click(`#activate button[type="submit"]`)
	en.waitText("#status .badge", "Active")
	en.idle("#activate")
	en.eval(`(() => { document.querySelector('#status details').open = true; return true; })()`, nil)
	en.waitText(`#status [data-f="details"]`, "年度版")
	shot(en, "web-active.png")

	// Grace: the license server fails, one refresh.
	srv.SetFault(remotetest.Status5xx(503))
	en.click(`[data-act="refresh"]`)
	en.waitText("#status .badge", "Grace period")
	en.waitText(`#status [data-f="grace"]`, "days left")
	en.eval(`(() => { document.querySelector('#status details').open = false; return true; })()`, nil)
	shot(en, "web-grace.png")

	// The same in Chinese.
	zh := newTab(t, "zh-CN,zh")
	viewport(zh, 1100, 860)
	zh.open(h.url + "/")
	zh.signIn(h.admin)
	zh.waitText("#status .badge", "宽限期")
	zh.waitText(`#status [data-f="grace"]`, "还剩")
	shot(zh, "web-grace-zh.png")

	// Features and activation files: a host with a product file and a
	// temporary activation file installed.
	prod, vendor := writeProduct(t)
	fh := startHost(t, srv, "--product", prod)
	if _, err := fh.client.InstallActivation(t.Context(), mustRead(t, signedFile(t, fh, vendor, "AF-DEMO-0001", actfile.Temporary, "data.cdc"))); err != nil {
		t.Fatal(err)
	}
	ft := newTab(t, "en-US,en")
	viewport(ft, 1100, 860)
	ft.open(fh.url + "/")
	ft.signIn(fh.admin)
	ft.waitText(`#features tr[data-feature="data.cdc"]`, "Enabled")
	ft.waitText(`#activations tr[data-serial="AF-DEMO-0001"]`, "In force")
	elementShot(ft, "#features", "web-features.png")
	elementShot(ft, "#activations", "web-activation-files.png")

	// The read-only view.
	app := newTab(t, "en-US,en")
	viewport(app, 1100, 700)
	app.open(h.url + "/")
	app.signIn(h.app)
	app.waitText("#status .badge", "Grace period")
	shot(app, "web-app-token.png")
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
