package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/e2etest"
	"github.com/licensehost/licensehost/internal/licapi"
	"github.com/licensehost/licensehost/internal/remotetest"
	"github.com/licensehost/licensehost/internal/server"
)

// The admin's whole day on the page: sign in, activation failures with the
// server's reason, activation, refresh, grace, device switch, clear, events,
// sign out; the security headers, the cookie, no console error.
func TestBrowserAdminFlow(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, srv, "--license-url", "https://licenses.example.test/buy?product=web")
	tb := newTab(t, "en-US,en")

	resp := tb.open(h.url + "/")
	hdr := func(name string) string {
		for k, v := range resp.Headers {
			if strings.EqualFold(k, name) {
				s, _ := v.(string)
				return s
			}
		}
		return ""
	}
	if hdr("Content-Security-Policy") != server.PageCSP || !strings.Contains(hdr("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", hdr("Content-Security-Policy"))
	}
	if !strings.Contains(server.PageCSP, "default-src 'self'") || strings.Contains(server.PageCSP, "unsafe") {
		t.Errorf("CSP not strict: %q", server.PageCSP)
	}
	if hdr("X-Frame-Options") != "DENY" || hdr("Referrer-Policy") != "no-referrer" || hdr("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers: XFO %q, Referrer-Policy %q, nosniff %q", hdr("X-Frame-Options"), hdr("Referrer-Policy"), hdr("X-Content-Type-Options"))
	}
	if hdr("Cache-Control") != "no-cache" {
		t.Errorf("index Cache-Control = %q", hdr("Cache-Control"))
	}

	// A wrong token is refused with words, and the page stays signed out.
	tb.do(chromedp.WaitVisible(chromedp.ID("token")), chromedp.SendKeys(chromedp.ID("token"), "not-the-token\r"))
	tb.waitText("#signin-error", "Wrong token")
	if v := tb.text("#sections"); v != "" {
		t.Fatalf("sections shown after a wrong token: %q", v)
	}

	tb.signIn(h.admin)
	tb.waitText("#status .badge", "Not activated")
	tb.waitText("#who", "admin token")
	for _, sel := range []string{"#activate", "#switch", "#policy", "#events", `[data-act="refresh"]`, `[data-act="clear"]`} {
		tb.waitJS(sel+" present", `document.querySelector('`+sel+`') !== null`)
	}

	// The "Get a license" link is the configured one, opened without a
	// referrer or an opener.
	var link struct{ Href, Rel, Target string }
	tb.eval(`(() => { const a = document.querySelector('#activate a.ext'); return {Href: a.href, Rel: a.rel, Target: a.target}; })()`, &link)
	if link.Href != "https://licenses.example.test/buy?product=web" || !strings.Contains(link.Rel, "noopener") || !strings.Contains(link.Rel, "noreferrer") || link.Target != "_blank" {
		t.Errorf("Get a license link: %+v", link)
	}

	// The token is in no URL, no page text, no storage, not in a cookie
	// readable by the page.
	var leak struct {
		URL, HTML, Cookie, Storage string
	}
	tb.eval(`({URL: location.href, HTML: document.documentElement.outerHTML, Cookie: document.cookie, Storage: JSON.stringify(Object.assign({}, localStorage, sessionStorage))})`, &leak)
	for name, v := range map[string]string{"URL": leak.URL, "HTML": leak.HTML, "document.cookie": leak.Cookie, "storage": leak.Storage} {
		if strings.Contains(v, h.admin) {
			t.Errorf("the admin token is in the page's %s", name)
		}
	}
	if leak.Cookie != "" {
		t.Errorf("document.cookie = %q: the session cookie must be HttpOnly", leak.Cookie)
	}
	cookies, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{h.url + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	var sc *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == api.SessionCookie {
			sc = c
		}
	}
	switch {
	case sc == nil:
		t.Fatalf("no %s cookie: %+v", api.SessionCookie, cookies.Cookies)
	case !sc.HTTPOnly || sc.SameSite != network.CookieSameSiteStrict || sc.Session || sc.Secure:
		t.Errorf("session cookie: httpOnly %v sameSite %q session %v secure %v (plain HTTP: not Secure)", sc.HTTPOnly, sc.SameSite, sc.Session, sc.Secure)
	case time.Unix(int64(sc.Expires), 0).Before(time.Now()) || time.Unix(int64(sc.Expires), 0).After(time.Now().Add(server.DefaultSessionTTL+time.Minute)):
		t.Errorf("session cookie expires %v", time.Unix(int64(sc.Expires), 0))
	case sc.Value == h.admin:
		t.Errorf("the cookie is the token")
	}

	// Activation failures, each with the server's reason.
	activate := func(key string) {
		tb.idle("#activate")
		tb.fill("licenseKey", key)
		tb.click(`#activate button[type="submit"]`)
	}
	activate("LH-NO-SUCH-KEY-0009")
	tb.waitText(`#activate [data-f="result"]`, "Invalid license key")
	tb.waitText(`#activate [data-f="result"]`, "License server said (HTTP 404): "+licapi.MsgNotFound)
	tb.waitText(`#activate [data-f="result"]`, "The installation stays: Not activated.")

	activate(keySuspend)
	tb.waitText(`#activate [data-f="result"]`, "License server said (HTTP 403): "+licapi.MsgSuspended)

	srv.SetDown(true)
	activate(keyAnnual)
	tb.waitText(`#activate [data-f="result"]`, "No answer from the license server")
	tb.waitText(`#activate [data-f="result"]`, "Nothing was lost; try again later.")
	srv.SetDown(false)

	// A remote message is text, never markup.
	srv.FailNext(1, remotetest.Reject4xx(403, `<img src=x id=injected onerror="document.title='pwned'">密钥已被暂停`))
	activate(keyAnnual)
	tb.waitText(`#activate [data-f="result"]`, `<img src=x id=injected`)
	var injected bool
	tb.eval(`document.getElementById('injected') !== null || document.title === 'pwned'`, &injected)
	if injected {
		t.Fatal("a license server message was rendered as HTML")
	}

	// Success: the server's details stay in the activation section.
	activate(keyAnnual)
	tb.waitText(`#activate [data-f="result"]`, "License activated. Status: Active.")
	tb.waitText(`#activate [data-f="result"]`, "年度版")
	tb.waitText(`#activate [data-f="result"]`, "500")
	tb.waitText("#status .badge", "Active")
	tb.waitText(`#status [data-f="edition"]`, "年度版")
	tb.waitText(`#status [data-f="licenseKey"]`, "LH-W…0001")
	if strings.Contains(tb.text("body"), keyAnnual) {
		t.Error("the full license key is shown")
	}
	tb.waitText(`#status [data-f="lastRefresh"]`, "Last activation: OK · HTTP 200")

	// Manual refresh.
	tb.click(`[data-act="refresh"]`)
	tb.waitText(`#status [data-f="actionResult"]`, "Verified with the license server: Active.")
	tb.waitText(`#status [data-f="lastRefresh"]`, "Last refresh: OK · HTTP 200")

	// The license server fails: grace, with the seed's words and days left.
	srv.SetFault(remotetest.Status5xx(503))
	tb.click(`[data-act="refresh"]`)
	tb.waitText(`#status [data-f="actionResult"]`, "No answer from the license server")
	tb.waitText(`#status [data-f="actionResult"]`, "The license keeps working during the grace period; try again later.")
	tb.waitText("#status .badge", "Grace period")
	tb.waitText(`#status [data-f="grace"]`, "Verification is currently failing, please refresh later. Grace period: 15 days left")
	tb.waitText(`#status [data-f="lastRefresh"]`, "Last refresh: failed · HTTP 503")
	checkContrast(t, tb)
	srv.ClearFault()
	tb.click(`[data-act="refresh"]`)
	tb.waitText("#status .badge", "Active")

	// Device switch: checked in the page first, then confirmed.
	tb.do(chromedp.SendKeys(chromedp.ID("newMachineId"), "server_nothex"))
	tb.click(`#switch button[type="submit"]`)
	tb.waitText(`#switch [data-f="result"]`, "A machine code is server_ followed by 16 lowercase hex characters.")
	tb.fill("newMachineId", newMachine)
	tb.fill("reason", "new hardware")
	tb.click(`#switch button[type="submit"]`)
	tb.waitJS("the confirmation", `document.getElementById('confirm').open`)
	tb.waitText("#confirm", "Move the license?")
	tb.click("#confirm-ok")
	tb.waitText(`#switch [data-f="result"]`, "The license moves to "+newMachine+". Status here: Switching device.")
	tb.waitText("#status .badge", "Switching device")
	if n := srv.Count(licapi.PathSwitchDevice); n != 1 {
		t.Errorf("switch requests at the license server: %d", n)
	}

	// Clear: cancelled first (nothing happens), then confirmed.
	tb.click(`[data-act="clear"]`)
	tb.waitJS("the confirmation", `document.getElementById('confirm').open`)
	tb.waitText("#confirm", "Clear the license?")
	tb.click("#confirm-cancel")
	tb.waitJS("the dialog closed", `!document.getElementById('confirm').open`)
	if st, err := h.client.Status(context.Background()); err != nil || st.LicenseKey == "" {
		t.Fatalf("cancel cleared the license: %+v %v", st, err)
	}
	tb.click(`[data-act="clear"]`)
	tb.waitJS("the confirmation", `document.getElementById('confirm').open`)
	tb.click("#confirm-ok")
	tb.waitText(`#status [data-f="actionResult"]`, "License cleared: the installation runs as the community edition.")
	tb.waitText("#status .badge", "Not activated")
	if st, err := h.client.Status(context.Background()); err != nil || st.Status != "community" {
		t.Fatalf("after clear: %+v %v", st, err)
	}

	// No policy directory: the builtin decides, said in words.
	tb.waitText(`#policy [data-f="routes"]`, "every other type (default)")
	tb.waitText(`#policy [data-f="nodir"]`, "No policy directory is configured")

	// Recent events list what happened.
	tb.waitText("#events", "activation_failed")
	tb.waitText("#events", "cleared")

	// Sign out: the cookie no longer opens the API.
	tb.click("#signout")
	tb.waitJS("the sign-in form", `!document.getElementById('signin').hidden`)
	if code, _ := tb.fetchJS("GET", api.PathStatus, nil, ""); code != 401 {
		t.Errorf("status after sign-out: %d, want 401", code)
	}
	if strings.Contains(h.stderr.String(), h.admin) {
		t.Error("the admin token is in the host's log")
	}
	tb.noConsoleErrors()
}

// The read-only app token sees the status and nothing else; the admin
// routes refuse it server-side even with a valid CSRF token.
func TestBrowserAppTokenView(t *testing.T) {
	srv := newLicenseServer(t)
	h, tb := activeSignedIn(t, srv, func(h *host) string { return h.app })
	tb.waitText("#who", "read-only app token")
	var present []string
	tb.eval(`["#activate", "#switch", "#policy", "#events", "[data-act=refresh]", "[data-act=clear]", "#licenseKey", "#newMachineId"].filter(s => document.querySelector(s) !== null)`, &present)
	if len(present) > 0 {
		t.Fatalf("admin controls present for the app token: %v", present)
	}
	csrf := tb.csrf()
	for _, p := range []string{api.PathClear, api.PathActivate, api.PathHeartbeat, api.PathPolicyReload} {
		body := "{}"
		if p == api.PathActivate {
			body = `{"licenseKey":"` + keyAnnual + `"}`
		}
		code, b := tb.fetchJS("POST", p, map[string]string{"Content-Type": "application/json", api.CSRFHeader: csrf}, body)
		if code != 403 || b["error"] != "forbidden" {
			t.Errorf("app session POST %s: %d %v, want 403 forbidden", p, code, b)
		}
	}
	if code, _ := tb.fetchJS("GET", api.PathEvents, nil, ""); code != 403 {
		t.Errorf("app session GET events: %d", code)
	}
	if st, err := h.client.Status(context.Background()); err != nil || st.Status != "active" {
		t.Fatalf("the app session changed the license: %+v %v", st, err)
	}
	tb.noConsoleErrors()
}

// With the cookie, a state-changing request without the session's CSRF
// token (or with another) is refused with 403 and changes nothing.
func TestBrowserCSRFRefused(t *testing.T) {
	srv := newLicenseServer(t)
	h, tb := activeSignedIn(t, srv, func(h *host) string { return h.admin })
	verifies := srv.Count(licapi.PathVerify)
	for name, hdr := range map[string]map[string]string{
		"no header":    {"Content-Type": "application/json"},
		"wrong token":  {"Content-Type": "application/json", api.CSRFHeader: "x" + tb.csrf()},
		"empty header": {"Content-Type": "application/json", api.CSRFHeader: ""},
	} {
		for _, p := range []string{api.PathClear, api.PathHeartbeat} {
			code, b := tb.fetchJS("POST", p, hdr, "{}")
			if code != 403 || b["error"] != "csrf" {
				t.Errorf("%s: POST %s = %d %v, want 403 csrf", name, p, code, b)
			}
		}
		if code, _ := tb.fetchJS("DELETE", api.PathSession, hdr, ""); code != 403 {
			t.Errorf("%s: sign-out without CSRF = %d, want 403", name, code)
		}
	}
	if st, err := h.client.Status(context.Background()); err != nil || st.Status != "active" || st.LicenseKey == "" {
		t.Fatalf("a refused request changed the license: %+v %v", st, err)
	}
	if n := srv.Count(licapi.PathVerify); n != verifies {
		t.Fatalf("a refused refresh reached the license server (%d → %d)", verifies, n)
	}
	// With the token it works; reads need none.
	if code, _ := tb.fetchJS("GET", api.PathStatus, nil, ""); code != 200 {
		t.Errorf("GET status with the cookie: %d", code)
	}
	if code, b := tb.fetchJS("POST", api.PathHeartbeat, map[string]string{"Content-Type": "application/json", api.CSRFHeader: tb.csrf()}, "{}"); code != 200 {
		t.Errorf("heartbeat with the CSRF token: %d %v", code, b)
	}
	tb.noConsoleErrors()
}

// The page follows the browser's language, switches, and remembers the
// choice; the Chinese uses the tray's words.
func TestBrowserLanguage(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, srv)
	if _, err := h.client.Activate(context.Background(), keyAnnual); err != nil {
		t.Fatal(err)
	}
	srv.SetFault(remotetest.Status5xx(503))
	if _, err := h.client.Heartbeat(context.Background()); err == nil {
		t.Fatal("heartbeat against a failing server succeeded")
	}
	tb := newTab(t, "zh-CN,zh")
	tb.open(h.url + "/")
	tb.waitText("#signin-h", "登录")
	tb.signIn(h.admin)
	tb.waitText("#status-h", "许可证状态")
	tb.waitText("#status .badge", "宽限期")
	tb.waitText(`#status [data-f="grace"]`, "当前验证失败，请稍后刷新。已进入宽限期，还剩 15 天，期间所有功能不受影响，过后将回退到社区版。")
	tb.waitText(`#status [data-f="lastRefresh"]`, "最近一次刷新：失败 · HTTP 503")
	// The first load as the browser fetched it (navigation, assets, the
	// language file and the API answers), uncompressed.
	var load struct {
		Total int      `json:"total"`
		Names []string `json:"names"`
	}
	tb.eval(`(() => { const e = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
		return {total: e.reduce((s, x) => s + x.decodedBodySize, 0), names: e.map((x) => x.name.replace(location.origin, '') + ' ' + x.decodedBodySize)}; })()`, &load)
	t.Logf("first load in Chromium: %d bytes: %v", load.Total, load.Names)
	if load.Total > firstLoadBudget || len(load.Names) < 5 {
		t.Errorf("first load %d bytes in %d requests, budget %d", load.Total, len(load.Names), firstLoadBudget)
	}
	var lang string
	tb.eval(`document.documentElement.lang`, &lang)
	if lang != "zh-Hans" {
		t.Errorf("html lang = %q", lang)
	}

	// Switch to English: everything, including what is already shown.
	tb.do(chromedp.SetValue(chromedp.ID("lang"), "en"))
	tb.eval(`document.getElementById('lang').dispatchEvent(new Event('change')), true`, nil)
	tb.waitText("#status-h", "License status")
	tb.waitText("#status .badge", "Grace period")
	tb.waitText(`#status [data-f="grace"]`, "Grace period: 15 days left")
	// The choice survives a reload.
	tb.open(h.url + "/")
	tb.waitText("#status-h", "License status")
	tb.noConsoleErrors()
}

// Every form control has a label, every button a name; keyboard alone signs
// in and refreshes; text contrast is at least WCAG AA.
func TestBrowserAccessibility(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, srv)
	tb := newTab(t, "en-US,en")
	tb.open(h.url + "/")

	// Keyboard only: Tab from the top reaches the token field, Enter signs in.
	var focus string
	for i := 0; i < 8 && focus != "token"; i++ {
		tb.do(chromedp.KeyEvent(kb.Tab))
		tb.eval(`document.activeElement ? document.activeElement.id : ""`, &focus)
	}
	if focus != "token" {
		t.Fatalf("Tab never reached the token field (at %q)", focus)
	}
	tb.do(chromedp.KeyEvent(h.admin + kb.Enter))
	tb.waitText("#status .badge", "Not activated")
	checkLabels(t, tb)

	// Tab to "Refresh now"... with no license it answers 409 in words.
	tb.do(chromedp.Focus(chromedp.CSS(`[data-act="refresh"]`)), chromedp.KeyEvent(kb.Enter))
	tb.waitText(`#status [data-f="actionResult"]`, "No license is stored")
	var clearDisabled bool
	tb.eval(`document.querySelector('[data-act="clear"]').disabled`, &clearDisabled)
	if !clearDisabled {
		t.Error("Clear is enabled with no license stored")
	}
	checkContrast(t, tb)

	// Activation error state, then labels and contrast again.
	tb.fill("licenseKey", "LH-NO-SUCH-KEY-0009"+kb.Enter)
	tb.waitText(`#activate [data-f="result"]`, "Invalid license key")
	tb.idle("#activate")
	checkContrast(t, tb)
	tb.fill("licenseKey", keyAnnual+kb.Enter)
	tb.waitText("#status .badge", "Active")
	checkContrast(t, tb)
	tb.click(`[data-act="clear"]`)
	tb.waitJS("the confirmation", `document.getElementById('confirm').open`)
	tb.do(chromedp.KeyEvent(kb.Escape))
	tb.waitJS("the dialog closed", `!document.getElementById('confirm').open`)
	if st, err := h.client.Status(context.Background()); err != nil || st.Status != "active" {
		t.Fatalf("Escape cleared the license: %+v %v", st, err)
	}
	checkLabels(t, tb)
	tb.noConsoleErrors()
}

// checkLabels: every input, select and textarea has a label (label[for] or
// aria-label), every button and link has a text.
func checkLabels(t *testing.T, tb *tab) {
	t.Helper()
	var bad []string
	tb.eval(`(() => {
		const bad = [];
		for (const el of document.querySelectorAll('input, select, textarea')) {
			if (el.type === 'hidden') continue;
			const lab = el.labels && el.labels.length ? el.labels[0].textContent.trim() : (el.getAttribute('aria-label') || '').trim();
			if (!lab) bad.push(el.outerHTML);
		}
		for (const el of document.querySelectorAll('button, a[href]')) {
			if (!(el.textContent.trim() || el.getAttribute('aria-label'))) bad.push(el.outerHTML);
		}
		return bad;
	})()`, &bad)
	if len(bad) > 0 {
		t.Errorf("controls without a label or name:\n%s", strings.Join(bad, "\n"))
	}
	var n int
	tb.eval(`document.querySelectorAll('input, select').length`, &n)
	if n < 4 {
		t.Errorf("only %d form controls checked", n)
	}
}

// checkContrast measures every visible element that holds text against its
// effective background: at least 4.5:1 (WCAG AA for normal text).
func checkContrast(t *testing.T, tb *tab) {
	t.Helper()
	var res struct {
		Checked int      `json:"checked"`
		Bad     []string `json:"bad"`
	}
	tb.eval(`(() => {
		const rgb = (s) => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(',').map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
		const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
		const bgOf = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
		let checked = 0; const bad = [];
		for (const el of document.querySelectorAll('body *')) {
			if (!el.offsetParent && getComputedStyle(el).position !== 'fixed' && el.tagName !== 'DIALOG') continue;
			const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
			if (!own) continue;
			const st = getComputedStyle(el);
			if (st.visibility === 'hidden' || st.display === 'none') continue;
			const fg = rgb(st.color); const bg = bgOf(el);
			let opacity = 1; for (let e = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
			if (opacity < 1 || el.disabled) continue; // disabled controls are exempt (WCAG 1.4.3)
			const l1 = lum(fg), l2 = lum(bg);
			const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
			checked++;
			if (ratio < 4.5) bad.push(el.tagName + ' "' + el.textContent.trim().slice(0, 40) + '" ' + ratio.toFixed(2));
		}
		return {checked, bad};
	})()`, &res)
	if res.Checked < 10 || len(res.Bad) > 0 {
		t.Errorf("contrast: %d elements checked, below 4.5:1:\n%s", res.Checked, strings.Join(res.Bad, "\n"))
	}
}

// Features from the product file and activation files, offline: download a
// request, install a signed file (and a bad one), see the feature it
// grants, uninstall it with the receipt downloaded, fetch the receipt again.
func TestBrowserFeaturesAndActivationFiles(t *testing.T) {
	prod, vendorKey := writeProduct(t)
	srv := newLicenseServer(t)
	h := startHost(t, srv, "--product", prod)
	tb := newTab(t, "en-US,en")
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(tb.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
		BrowserContextID: chromedp.FromContext(tb.ctx).BrowserContextID,
	}); err != nil {
		t.Fatal(err)
	}
	waitFile := func(prefix, want string, n int) string {
		t.Helper()
		deadline := time.Now().Add(waitFor)
		for {
			var found []string
			ents, _ := os.ReadDir(downloads)
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), prefix) && !strings.HasSuffix(e.Name(), ".crdownload") {
					found = append(found, e.Name())
				}
			}
			if len(found) >= n {
				b, err := os.ReadFile(filepath.Join(downloads, found[len(found)-1]))
				if err == nil && strings.Contains(string(b), want) {
					return string(b)
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no download %s* (%d wanted) with %q in %s: %v", prefix, n, want, downloads, found)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	tb.open(h.url + "/")
	tb.signIn(h.admin)
	tb.waitText(`#features tr[data-feature="data.source"]`, "Enabled")
	tb.waitText(`#features tr[data-feature="data.source"]`, "Pre-authorization")
	tb.waitText(`#features tr[data-feature="data.cdc"]`, "Not licensed")
	tb.waitText(`#features [data-f="preauth"]`, "Pre-authorization: 180 days left")
	tb.waitText("#activations", "No activation file is installed.")

	// A request file, downloaded by the browser.
	tb.fill("requestKey", keyAnnual)
	tb.click(`#activations [data-f="requestForm"] button`)
	tb.waitText(`#activations [data-f="result"]`, "Request file downloaded")
	req := waitFile("activation-request-"+thisMachine, "-----BEGIN LICENSEHOST ACTIVATION REQUEST-----", 1)
	if _, err := actfile.ParseRequest([]byte(req)); err != nil {
		t.Fatalf("the downloaded request does not parse: %v", err)
	}

	// A bad file is refused with the host's words; nothing installed.
	bad := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(bad, []byte("hello, not a license"), 0o600); err != nil {
		t.Fatal(err)
	}
	tb.idle("#activations")
	tb.do(chromedp.SetUploadFiles(chromedp.ID("activationFile"), []string{bad}))
	tb.click(`#activations [data-f="installForm"] button`)
	tb.waitText(`#activations [data-f="result"]`, "The activation file was refused")
	tb.waitText(`#activations [data-f="result"]`, "not an armored licensehost file")

	// A good file, signed by the vendor key for this installation.
	const serial = "AF-WEB-0001"
	good := signedFile(t, h, vendorKey, serial, actfile.Formal, "data.cdc")
	tb.idle("#activations")
	tb.do(chromedp.SetUploadFiles(chromedp.ID("activationFile"), []string{good}))
	tb.click(`#activations [data-f="installForm"] button`)
	tb.waitText(`#activations [data-f="result"]`, "Installed: "+serial+".")
	tb.waitText(`#activations tr[data-serial="`+serial+`"]`, "In force")
	tb.waitText(`#features tr[data-feature="data.cdc"]`, "Enabled")
	tb.waitText(`#features tr[data-feature="data.cdc"]`, "activation file "+serial)

	// Uninstall: confirmed, the receipt downloaded, the feature gone.
	tb.idle("#activations")
	tb.click(`#activations tr[data-serial="` + serial + `"] button.danger`)
	tb.waitJS("the confirmation", `document.getElementById('confirm').open`)
	tb.waitText("#confirm", "Uninstall "+serial+"?")
	tb.click("#confirm-ok")
	tb.waitText(`#activations [data-f="result"]`, "Uninstalled "+serial)
	rec := waitFile("uninstall-receipt-"+serial, "-----BEGIN LICENSEHOST UNINSTALL RECEIPT-----", 1)
	if r, err := actfile.ParseReceipt([]byte(rec)); err != nil || r.Serial != serial {
		t.Fatalf("the downloaded receipt: %+v %v", r, err)
	}
	tb.waitText(`#features tr[data-feature="data.cdc"]`, "Not licensed")
	tb.waitJS("the row gone", `document.querySelector('#activations tr[data-serial="`+serial+`"]') === null`)

	// The receipt again, by serial.
	if err := os.Remove(filepath.Join(downloads, "uninstall-receipt-"+serial+".txt")); err != nil {
		t.Fatal(err)
	}
	tb.idle("#activations")
	tb.fill("receiptSerial", serial)
	tb.click(`#activations [data-f="receiptForm"] button`)
	tb.waitText(`#activations [data-f="result"]`, "Receipt downloaded: "+serial)
	waitFile("uninstall-receipt-"+serial, "UNINSTALL RECEIPT", 1)
	checkLabels(t, tb)
	checkContrast(t, tb)
	tb.noConsoleErrors()

	// The app token sees the features (part of the status), not the
	// activation files.
	app := newTab(t, "en-US,en")
	app.open(h.url + "/")
	app.signIn(h.app)
	// The formal file superseded the pre-authorization for good.
	app.waitText(`#features tr[data-feature="data.source"]`, "Pre-authorization over")
	app.waitText(`#features [data-f="preauth"]`, "superseded by a temporary or formal license")
	var present bool
	app.eval(`document.querySelector('#activations, #activationFile') !== null`, &present)
	if present {
		t.Fatal("activation files section shown to the app token")
	}
	app.noConsoleErrors()
}

// A session that ends under the page (signed out elsewhere) brings the
// sign-in form back with words; a host that stops is said to be not running.
func TestBrowserSessionEndsAndHostStops(t *testing.T) {
	srv := newLicenseServer(t)
	h, tb := activeSignedIn(t, srv, func(h *host) string { return h.admin })
	// Another tab of the same browser signs out.
	if code, _ := tb.fetchJS("DELETE", api.PathSession, map[string]string{api.CSRFHeader: tb.csrf()}, ""); code != 200 {
		t.Fatalf("sign-out: %d", code)
	}
	tb.click(`[data-act="refresh"]`)
	tb.waitText("#signin-error", "Your session ended; sign in again.")
	tb.waitJS("the sections gone", `document.getElementById('sections').children.length === 0`)

	tb.signIn(h.admin)
	tb.waitText("#status .badge", "Active")
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	<-h.done
	tb.click(`[data-act="refresh"]`)
	tb.waitText(`#status [data-f="actionResult"]`, "The license host is not running")
	tb.waitText(`#status [data-f="actionResult"]`, "Start it with `licensehost`")
	tb.noConsoleErrors()
}

// The quota policy card: routing rules and decisions from GET /api/policy,
// reload, and a refused reload in words.
func TestBrowserPolicy(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join("..", "..", "plugins", "wasm", "testdata", "tiered.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	dir, sum := e2etest.PolicyDir(t, "tiered", wasm, "年度*", "")
	srv := newLicenseServer(t)
	h := startHost(t, srv, "--policy-dir", dir)
	ctx := context.Background()
	if _, err := h.client.Activate(ctx, keyAnnual); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.QuotaCheck(ctx, api.QuotaCheckRequest{Batch: 1}); err != nil {
		t.Fatal(err)
	}
	tb := newTab(t, "en-US,en")
	tb.open(h.url + "/")
	tb.signIn(h.admin)
	tb.waitText(`#policy [data-f="policy"]`, "wasm:tiered")
	tb.waitText(`#policy [data-f="routes"]`, "年度*")
	tb.waitText(`#policy [data-f="routes"]`, "tiered.wasm · sha256 "+sum[:12])
	tb.waitText(`#policy [data-f="decisions"]`, "wasm:tiered")
	tb.click(`[data-act="reload"]`)
	tb.waitText(`#policy [data-f="result"]`, "Policies reloaded.")

	// A module that no longer matches its manifest: refused, in words.
	if err := os.WriteFile(filepath.Join(dir, "tiered.wasm"), []byte("not wasm"), 0o600); err != nil {
		t.Fatal(err)
	}
	tb.idle("#policy")
	tb.click(`[data-act="reload"]`)
	tb.waitText(`#policy [data-f="result"]`, "The request was refused")
	tb.waitText(`#policy [data-f="result"]`, "previous policies stay in force")
	tb.waitText(`#policy [data-f="policy"]`, "wasm:tiered")
	tb.noConsoleErrors()
}

// `licensehost web --link` prints a one-time sign-in link: it signs a
// browser in as admin, leaves no code in the address bar, and works once.
func TestBrowserSignInLink(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, srv)
	out, err := exec.Command(hostBin, "web", "--link", "--host", h.url, "--token-file", filepath.Join(h.dataDir, api.TokenFileName)).CombinedOutput()
	if err != nil {
		t.Fatalf("licensehost web --link: %v\n%s", err, out)
	}
	link, _, _ := strings.Cut(string(out), "\n")
	code, ok := strings.CutPrefix(link, h.url+"/#signin=")
	if !ok || len(code) < 40 || strings.Contains(string(out), h.admin) {
		t.Fatalf("link output: %q", out)
	}
	tb := newTab(t, "en-US,en")
	tb.open(link)
	tb.waitText("#status .badge", "Not activated")
	tb.waitText("#who", "admin token")
	var href string
	tb.eval(`location.href`, &href)
	if strings.Contains(href, code) || strings.Contains(href, "signin") {
		t.Errorf("the code stayed in the address bar: %s", href)
	}
	other := newTab(t, "en-US,en")
	other.open(link)
	other.waitText("#signin-error", "This sign-in link was used already or has expired")
	if strings.Contains(h.stderr.String(), code) {
		t.Error("the link's code is in the host's log")
	}
	tb.noConsoleErrors()
}

// The appliance moved to other hardware: the stored license is bound to the
// old machine code, and the page says so with this machine's code.
func TestBrowserMachineChanged(t *testing.T) {
	srv := newLicenseServer(t)
	dir := activatedDataDir(t, srv)
	const moved = "server_0000000000abcdef"
	h := startHostIn(t, srv, dir, "--machine-id", moved)
	tb := newTab(t, "en-US,en")
	tb.open(h.url + "/")
	tb.signIn(h.admin)
	tb.waitText("#status .badge", "Expired")
	tb.waitText(`#status [data-f="problem"]`, "License key mismatch")
	tb.waitText(`#status [data-f="problem"]`, "get a key for this machine's code "+moved)
	tb.noConsoleErrors()
}

// activeSignedIn starts a host against srv, activates keyAnnual, and signs
// a fresh English tab in with the token token picks (h.admin or h.app),
// waiting until the page shows the license Active.
func activeSignedIn(t *testing.T, srv *remotetest.Server, token func(*host) string) (*host, *tab) {
	t.Helper()
	h := startHost(t, srv)
	if _, err := h.client.Activate(context.Background(), keyAnnual); err != nil {
		t.Fatal(err)
	}
	tb := newTab(t, "en-US,en")
	tb.open(h.url + "/")
	tb.signIn(token(h))
	tb.waitText("#status .badge", "Active")
	return h, tb
}
