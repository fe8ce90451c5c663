package web_test

// The admin page tested the way users meet it (docs/web.md): headless
// Chromium (Debian's chromium, installed by make deps) driven by chromedp,
// against the real licensehost binary and a real loopback license server
// (internal/remotetest). Waits are for conditions in the page, never sleeps.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/e2etest"
	"github.com/licensehost/licensehost/internal/remotetest"
)

var (
	hostBin    string
	browserCtx context.Context // one Chromium for the package; each test gets its own browser context
	skipReason string
)

const (
	keyAnnual   = "LH-WEB-ANNUAL-0001"
	keySuspend  = "LH-WEB-SUSPENDED-0002"
	thisMachine = "server_00000000000a0b0c"
	newMachine  = "server_00000000000d0e0f"
	// waitFor bounds every wait in the page: generous for a loaded 2-core
	// machine, still a bound that fails.
	waitFor = 60 * time.Second
)

// chromiumPath finds the browser: LICENSEHOST_CHROMIUM, else Debian's
// chromium on PATH.
func chromiumPath() string {
	if p := os.Getenv("LICENSEHOST_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "licensehost-web")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer removeAll(dir)
	if hostBin, err = e2etest.Build(dir, "licensehost", "../../cmd/host"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if os.Getenv("LICENSEHOST_NO_BROWSER") == "1" {
		skipReason = "LICENSEHOST_NO_BROWSER=1"
		return m.Run()
	}
	chrome := chromiumPath()
	if chrome == "" {
		fmt.Fprintln(os.Stderr, "web tests: no chromium found; run `make deps` (Debian package chromium), or set LICENSEHOST_CHROMIUM, or LICENSEHOST_NO_BROWSER=1 to skip the browser tests")
		return 1
	}
	profile := filepath.Join(dir, "chromium-profile")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.UserDataDir(profile), // a fresh profile every run
		chromedp.NoSandbox,            // containers and CI users have no user namespaces
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1200, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	// Start the browser with no deadline (a deadline here would end it).
	if err := chromedp.Do(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "starting chromium:", err)
		return 1
	}
	browserCtx = ctx
	return m.Run()
}

func removeAll(dir string) {
	// Chromium's children may still write in the profile for a moment.
	for range 50 {
		if os.RemoveAll(dir) == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---------- the host ----------

type host struct {
	t        testing.TB
	cmd      *exec.Cmd
	url      string
	admin    string
	app      string
	stderr   *enginetest.SyncBuffer
	done     <-chan struct{}
	dataDir  string
	client   *hostclient.Client
	licensed *remotetest.Server
}

func newLicenseServer(t testing.TB) *remotetest.Server {
	srv := remotetest.New(t)
	srv.AddLicense(keyAnnual, 2, map[string]any{"licenseTypeName": "年度版", "licenseTypeDisplayName": "年度版", "customField1": "500", "customField2": 50})
	srv.AddLicense(keySuspend, 2, map[string]any{"licenseTypeName": "年度版"})
	srv.SetSuspended(keySuspend, true)
	return srv
}

// startHost runs the real daemon with an app token, against srv.
func startHost(t testing.TB, srv *remotetest.Server, extra ...string) *host {
	t.Helper()
	return startHostIn(t, srv, t.TempDir(), extra...)
}

// startHostIn runs the real daemon on dataDir (a restart keeps the store).
func startHostIn(t testing.TB, srv *remotetest.Server, dataDir string, extra ...string) *host {
	t.Helper()
	args := append([]string{"--listen", "127.0.0.1:0", "--data-dir", dataDir,
		"--app-token-file", filepath.Join(dataDir, api.AppTokenFileName),
		"--license-server", srv.URL(), "--remote-timeout", "5s", "--machine-id", thisMachine}, extra...)
	d := e2etest.Start(t, hostBin, nil, args...)
	h := &host{t: t, cmd: d.Cmd, url: d.URL, stderr: d.Stderr, done: d.Done, dataDir: dataDir, licensed: srv}
	var err error
	if h.admin, err = hostclient.ReadTokenFile(filepath.Join(dataDir, api.TokenFileName)); err != nil {
		t.Fatal(err)
	}
	if h.app, err = hostclient.ReadTokenFile(filepath.Join(dataDir, api.AppTokenFileName)); err != nil {
		t.Fatal(err)
	}
	if h.client, err = hostclient.New(h.url, h.admin); err != nil {
		t.Fatal(err)
	}
	return h
}

// activatedDataDir returns a data directory where keyAnnual was activated
// against srv, its host stopped again.
func activatedDataDir(t testing.TB, srv *remotetest.Server) string {
	t.Helper()
	dir := t.TempDir()
	old := startHostIn(t, srv, dir)
	if _, err := old.client.Activate(context.Background(), keyAnnual); err != nil {
		t.Fatal(err)
	}
	_ = old.cmd.Process.Signal(syscall.SIGTERM)
	<-old.done
	return dir
}

// ---------- the browser ----------

type tab struct {
	t       testing.TB
	ctx     context.Context
	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// newTab opens a tab in a fresh browser context (its own cookies and
// storage) with the browser language acceptLang ("en-US,en", "zh-CN,zh").
func newTab(t testing.TB, acceptLang string) *tab {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for msg, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, msg)
			tb.mu.Unlock()
		}
	}()
	ua, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.userAgent`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: acceptLang}); err != nil {
		t.Fatal(err)
	}
	return tb
}

func (tb *tab) timeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(tb.ctx, waitFor)
}

// do runs actions with the wait bound.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := tb.timeout()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v\n%s", err, tb.dump())
	}
}

// eval evaluates a JavaScript expression (through DevTools, so the page's
// CSP does not apply to it) and decodes the result into out.
func (tb *tab) eval(expr string, out any) {
	tb.t.Helper()
	ctx, cancel := tb.timeout()
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("eval %s: %v", expr, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.t.Fatalf("eval %s: %v (%s)", expr, err, raw)
		}
	}
}

// waitJS waits until the expression is truthy. It asks the page again every
// 50 ms: a wait for a condition, bounded by waitFor.
func (tb *tab) waitJS(what, expr string) {
	tb.t.Helper()
	ctx, cancel := tb.timeout()
	defer cancel()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			tb.t.Fatalf("waiting for %s: %v (last error %v)\n%s", what, ctx.Err(), err, tb.dump())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// text is the visible text of the first element matching sel ("" if none).
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	var s string
	tb.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.innerText : ""; })()`, sel), &s)
	return s
}

// waitText waits until the element's visible text contains want.
func (tb *tab) waitText(sel, want string) {
	tb.t.Helper()
	tb.waitJS(fmt.Sprintf("%s to show %q", sel, want),
		fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e && e.checkVisibility() && e.innerText.includes(%q); })()`, sel, want))
}

func (tb *tab) dump() string {
	var body string
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	body, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return "page text:\n" + body + "\nconsole:\n" + tb.consoleText()
}

func (tb *tab) consoleText() string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var b strings.Builder
	for _, m := range tb.console {
		fmt.Fprintf(&b, "  [%s/%s] %s (%s:%d)\n", m.Type, m.Source, m.Text, m.URL, m.Line)
	}
	return b.String()
}

// consoleErrors are the console's errors and exceptions, CSP reports
// included. Failed network requests (source "network": an API answering
// 4xx/5xx, as the page expects it to) are not the page's errors.
func (tb *tab) consoleErrors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []string
	for _, m := range tb.console {
		if (m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning) && m.Source != "network" {
			out = append(out, fmt.Sprintf("[%s/%s] %s", m.Type, m.Source, m.Text))
		}
	}
	return out
}

func (tb *tab) noConsoleErrors() {
	tb.t.Helper()
	if errs := tb.consoleErrors(); len(errs) > 0 {
		tb.t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// open loads the page and waits until its script has run.
func (tb *tab) open(url string) *network.Response {
	tb.t.Helper()
	ctx, cancel := tb.timeout()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		tb.t.Fatalf("navigate %s: %v", url, err)
	}
	tb.waitJS("the page to start", `document.body && document.body.dataset.ready === "1"`)
	return resp
}

// signIn types the token into the sign-in form and submits it with Enter.
func (tb *tab) signIn(token string) {
	tb.t.Helper()
	tb.do(
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token+"\r"),
	)
	tb.waitJS("the status card", `document.querySelector('#status [data-f="machineId"]') && document.querySelector('#status [data-f="machineId"]').textContent.startsWith("server_")`)
}

// click waits until the element is visible and enabled, scrolls it into
// view and clicks its centre with the mouse (Input.dispatchMouseEvent).
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.waitJS(sel+" clickable", fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e && e.checkVisibility() && !e.disabled; })()`, sel))
	var box struct{ X, Y float64 }
	tb.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect(); return {X: r.x + r.width / 2, Y: r.y + r.height / 2}; })()`, sel), &box)
	tb.do(chromedp.MouseClickXY(box.X, box.Y))
}

// fill empties an input and types value into it, as a user would.
func (tb *tab) fill(id, value string) {
	tb.t.Helper()
	tb.eval(fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = ""; return true; })()`, id), nil)
	tb.do(chromedp.SendKeys(chromedp.ID(id), value))
}

// idle waits until no call of the section is running.
func (tb *tab) idle(sel string) {
	tb.t.Helper()
	tb.waitJS(sel+" idle", fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e && !e.hasAttribute('aria-busy'); })()`, sel))
}

// fetchJS runs fetch in the page (same origin, with the session cookie) and
// returns the status and the JSON body.
func (tb *tab) fetchJS(method, path string, headers map[string]string, body string) (int, map[string]any) {
	tb.t.Helper()
	if headers == nil {
		headers = map[string]string{}
	}
	h, _ := json.Marshal(headers)
	expr := fmt.Sprintf(`(async () => {
		const init = {method: %q, headers: %s, credentials: "same-origin"};
		if (%q !== "") init.body = %q;
		const r = await fetch(%q, init);
		let b = null; try { b = await r.json(); } catch (e) {}
		return {status: r.status, body: b};
	})()`, method, h, body, body, path)
	var out struct {
		Status int            `json:"status"`
		Body   map[string]any `json:"body"`
	}
	tb.eval(expr, &out)
	return out.Status, out.Body
}

func (tb *tab) csrf() string {
	tb.t.Helper()
	_, b := tb.fetchJS("GET", api.PathSession, nil, "")
	s, _ := b["csrfToken"].(string)
	if s == "" {
		tb.t.Fatalf("no CSRF token in GET /api/session: %v", b)
	}
	return s
}

// writeProduct writes a product file with two features (data.source
// pre-authorized for 180 days) trusting a fresh vendor key "v1".
func writeProduct(t testing.TB) (path string, vendor ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "product.json")
	body := `{"version": 1, "product": "Web Platform",
		"features": [{"name": "data.source", "title": "Data sources"}, {"name": "data.cdc", "title": "CDC sync"}],
		"preauth": {"days": 180, "features": ["data.source"]},
		"licenseTypes": {"年度版": ["data.source", "data.cdc"]},
		"vendorKeys": [{"kid": "v1", "ed25519": "` + actfile.EncodeKey(pub) + `"}]}`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, priv
}

// signedFile writes an activation file for h's installation, signed by the
// vendor key, granting features, and returns its path.
func signedFile(t testing.TB, h *host, vendor ed25519.PrivateKey, serial string, kind actfile.Kind, features ...string) string {
	t.Helper()
	acts, err := h.client.Activations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a := actfile.Activation{Serial: serial, LicenseKeyHash: actfile.HashKey(keyAnnual), LicenseKeyHint: "LH-W…0001",
		LicenseType: "年度版", Kind: kind, MachineID: thisMachine, InstallationKey: acts.InstallationKey,
		IssuedAt: time.Now().Add(-time.Minute), Uninstallable: kind == actfile.Formal, Migratable: kind == actfile.Formal}
	if kind == actfile.Temporary {
		exp := time.Now().Add(30 * 24 * time.Hour)
		a.ExpiresAt = &exp
	}
	for _, f := range features {
		a.Features = append(a.Features, actfile.Feature{Name: f})
	}
	file, err := actfile.SignActivation(a, "v1", vendor)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), serial+".txt")
	if err := os.WriteFile(p, file, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
