package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/licensehost/licensehost/internal/web"
)

// firstLoadBudget is the bound on everything a browser fetches on
// the first load, uncompressed (docs/web.md).
const firstLoadBudget = 150 * 1024

func newHandler(t *testing.T) *web.Handler {
	t.Helper()
	h, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(t *testing.T, h http.Handler, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestAssetsAndCaching(t *testing.T) {
	h := newHandler(t)
	idx := get(t, h, "/", nil)
	body, _ := io.ReadAll(idx.Body)
	if idx.StatusCode != 200 || idx.Header.Get("Cache-Control") != "no-cache" || idx.Header.Get("ETag") == "" ||
		!strings.HasPrefix(idx.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("index: %d %v", idx.StatusCode, idx.Header)
	}
	// Revalidation answers 304.
	if r := get(t, h, "/", map[string]string{"If-None-Match": idx.Header.Get("ETag")}); r.StatusCode != 304 {
		t.Errorf("index revalidation: %d", r.StatusCode)
	}
	// No inline script or style, no external origin: everything is /ui/<version>/.
	html := string(body)
	if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`).MatchString(html) || strings.Contains(html, "<style") ||
		regexp.MustCompile(`\son[a-z]+=`).MatchString(html) || regexp.MustCompile(`(?:src|href)="(?:https?:)?//`).MatchString(strings.ReplaceAll(html, `href="`+web.DefaultLicenseURL+`"`, "")) {
		t.Errorf("index.html has inline script/style/handlers or an external asset")
	}
	refs := regexp.MustCompile(`(?:src|href)="(/ui/[^"]+)"`).FindAllStringSubmatch(html, -1)
	if len(refs) < 3 {
		t.Fatalf("asset references: %v", refs)
	}
	for _, m := range refs {
		if !strings.HasPrefix(m[1], "/ui/"+h.Version()+"/") {
			t.Errorf("unversioned asset URL %s", m[1])
		}
		r := get(t, h, m[1], nil)
		if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || r.Header.Get("ETag") == "" {
			t.Errorf("%s: %d %v", m[1], r.StatusCode, r.Header)
		}
		if !h.Serves(m[1]) {
			t.Errorf("Serves(%s) is false", m[1])
		}
	}
	// An older version's URL still works, revalidated.
	if r := get(t, h, "/ui/000000000000/app.js", nil); r.StatusCode != 200 || r.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("old version: %d %v", r.StatusCode, r.Header)
	}
	for _, p := range []string{"/nope", "/ui/" + h.Version() + "/nope.js", "/ui/app.js", "/ui/" + h.Version() + "/../web.go", "/favicon.ico"} {
		r := get(t, h, p, nil)
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode != 404 || strings.Contains(string(b), p) || h.Serves(p) {
			t.Errorf("%s: %d %q", p, r.StatusCode, b)
		}
	}
	req := httptest.NewRequest("POST", "/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 405 {
		t.Errorf("POST /: %d", rec.Code)
	}
	if _, err := web.New(web.Options{LicenseURL: "javascript:alert(1)"}); err == nil {
		t.Error("a javascript: license link was accepted")
	}
}

// The first load (page, script, style, icon, one language file) is at most
// 150 KB uncompressed. The browser test measures the same in Chromium.
func TestFirstLoadBudget(t *testing.T) {
	total := 0
	var lines []string
	for u, n := range newHandler(t).FirstLoad() {
		total += n
		lines = append(lines, u)
	}
	sort.Strings(lines)
	t.Logf("first load: %d bytes in %d files %v (budget %d)", total, len(lines), lines, firstLoadBudget)
	if total > firstLoadBudget || len(lines) < 4 {
		t.Fatalf("first load %d bytes in %v, budget %d", total, lines, firstLoadBudget)
	}
}

// i18nKeys are the strings the page translates: m('…') in app.js, the
// STATUS labels, KINDS and licenseRows keys, data-i18n attributes.
func i18nKeys(t *testing.T) map[string]bool {
	t.Helper()
	js, err := os.ReadFile("static/app.js")
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	unq := strings.NewReplacer(`\'`, `'`, `\"`, `"`, `\n`, "\n")
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`\bm\(\s*'((?:\\.|[^'\\])*)'`),
		regexp.MustCompile(`\bm\(\s*"((?:\\.|[^"\\])*)"`),
		regexp.MustCompile(`label: '([^']*)'`),
		regexp.MustCompile(`(?:activate|heartbeat|switch): '([^'/]*)'`),
		regexp.MustCompile(`\['([A-Z][^']*)', (?:str|maskKey|maybeTime|pair|quota)`),
	} {
		for _, m := range re.FindAllStringSubmatch(string(js), -1) {
			keys[unq.Replace(m[1])] = true
		}
	}
	for _, m := range regexp.MustCompile(`data-i18n(?:-placeholder)?="([^"]*)"`).FindAllStringSubmatch(string(html), -1) {
		keys[m[1]] = true
	}
	return keys
}

func readJSON(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

var placeholder = regexp.MustCompile(`\{\{\.\w+\}\}`)

// Every string the page shows has its Chinese, with the same placeholders;
// a string the tray also shows reads the same in both (docs/tray.md).
func TestTranslations(t *testing.T) {
	keys := i18nKeys(t)
	if len(keys) < 100 {
		t.Fatalf("only %d keys found: the extraction is broken", len(keys))
	}
	zh := readJSON(t, "static/i18n/zh.json")
	tray := readJSON(t, "../../ui/translations/licensehost.zh_Hans.json")
	shared := 0
	for k := range keys {
		v, ok := zh[k]
		if !ok || strings.TrimSpace(v) == "" {
			t.Errorf("no Chinese for %q", k)
			continue
		}
		a, b := placeholder.FindAllString(k, -1), placeholder.FindAllString(v, -1)
		sort.Strings(a)
		sort.Strings(b)
		if strings.Join(a, ",") != strings.Join(b, ",") {
			t.Errorf("placeholders differ: %q → %q", k, v)
		}
		if tv, ok := tray[k]; ok {
			shared++
			if tv != v {
				t.Errorf("the page and the tray say %q differently: %q vs %q", k, v, tv)
			}
		}
	}
	for k := range zh {
		if !keys[k] {
			t.Errorf("zh.json has an unused key %q", k)
		}
	}
	if shared < 60 {
		t.Errorf("only %d strings shared with the tray", shared)
	}
}

// `licensehost web` prints the page's address; with --no-web there is no
// page and the command says why.
func TestWebCommandAndNoWeb(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, srv)
	out, err := exec.Command(hostBin, "web", "--host", h.url, "--token-file", "/x/admin.token").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), h.url+"/\n") || !strings.Contains(string(out), "/x/admin.token") {
		t.Fatalf("licensehost web: %v\n%s", err, out)
	}
	if strings.Contains(string(out), h.admin) {
		t.Fatal("licensehost web printed the token")
	}

	off := startHost(t, srv, "--no-web")
	resp, err := http.Get(off.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("--no-web: GET / = %d", resp.StatusCode)
	}
	out, err = exec.Command(hostBin, "web", "--host", off.url).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--no-web") {
		t.Fatalf("licensehost web against --no-web: %v %s", err, out)
	}
	if st, err := off.client.Status(t.Context()); err != nil || st.MachineID == "" {
		t.Fatalf("--no-web broke the API: %v", err)
	}
	bad := exec.Command(hostBin, "--license-url", "ftp://x", "--data-dir", t.TempDir())
	out, err = bad.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "license-url") {
		t.Fatalf("a bad --license-url: %v %s", err, out)
	}
}
