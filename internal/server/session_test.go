package server_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/internal/server"
)

const sessAppToken = "app-token-for-tests-abcdefghijklmn"

func newSessionServer(t *testing.T, page http.Handler, tlsOn bool) (*httptest.Server, *server.Server) {
	t.Helper()
	s := newAPI(t, testEngine(t, nil), server.Options{AdminToken: adminToken, AppToken: sessAppToken, Page: page})
	var ts *httptest.Server
	if tlsOn {
		ts = httptest.NewTLSServer(s)
	} else {
		ts = httptest.NewServer(s)
	}
	t.Cleanup(ts.Close)
	return ts, s
}

type answer struct {
	code int
	body map[string]any
	resp *http.Response
}

func do(t *testing.T, c *http.Client, method, url string, hdr map[string]string, body string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return answer{resp.StatusCode, m, resp}
}

func sessionCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == api.SessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", api.SessionCookie, resp.Header["Set-Cookie"])
	return nil
}

var jsonCT = map[string]string{"Content-Type": "application/json"}

func signIn(t *testing.T, ts *httptest.Server, token string) (cookie *http.Cookie, csrf string) {
	t.Helper()
	c := ts.Client()
	if ts.TLS == nil {
		c = validating(t) // every answer checked against api/openapi.json
	}
	a := do(t, c, "POST", ts.URL+api.PathSession, jsonCT, `{"token":"`+token+`"}`)
	if a.code != 200 || a.body["signedIn"] != true {
		t.Fatalf("sign-in: %d %v", a.code, a.body)
	}
	csrf, _ = a.body["csrfToken"].(string)
	return sessionCookie(t, a.resp), csrf
}

func withCookie(c *http.Cookie, extra map[string]string) map[string]string {
	h := map[string]string{"Cookie": c.Name + "=" + c.Value}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

func TestSessionCookieAndCSRF(t *testing.T) {
	ts, _ := newSessionServer(t, nil, false)
	c := validating(t)

	// Wrong token, empty token, form content type: refused, no cookie.
	for name, tc := range map[string]struct {
		hdr  map[string]string
		body string
		code int
	}{
		"wrong token":    {jsonCT, `{"token":"nope"}`, 401},
		"empty token":    {jsonCT, `{"token":""}`, 400},
		"token and code": {jsonCT, `{"token":"` + adminToken + `","code":"x"}`, 400},
		"wrong code":     {jsonCT, `{"code":"nope"}`, 401},
		"form type":      {map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, `{"token":"` + adminToken + `"}`, 415},
		"no type":        {nil, `{"token":"` + adminToken + `"}`, 415},
		"unknown field":  {jsonCT, `{"token":"` + adminToken + `","x":1}`, 400},
	} {
		a := do(t, c, "POST", ts.URL+api.PathSession, tc.hdr, tc.body)
		if a.code != tc.code || len(a.resp.Cookies()) != 0 {
			t.Errorf("%s: %d %v cookies %v, want %d and no cookie", name, a.code, a.body, a.resp.Cookies(), tc.code)
		}
		if strings.Contains(a.resp.Header.Get("Set-Cookie")+toJSON(a.body), adminToken) {
			t.Errorf("%s: the token is echoed", name)
		}
	}

	cookie, csrf := signIn(t, ts, adminToken)
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure || cookie.Path != "/" {
		t.Errorf("cookie flags: %+v", cookie)
	}
	if cookie.MaxAge <= 0 || cookie.MaxAge > int(server.DefaultSessionTTL.Seconds()) || cookie.Expires.IsZero() {
		t.Errorf("cookie expiry: MaxAge %d Expires %v", cookie.MaxAge, cookie.Expires)
	}
	if cookie.Value == adminToken || len(cookie.Value) < 40 || csrf == "" || csrf == cookie.Value {
		t.Errorf("cookie %q / csrf %q", cookie.Value, csrf)
	}

	// GET /api/session tells the role and the CSRF token; reads need no CSRF.
	a := do(t, c, "GET", ts.URL+api.PathSession, withCookie(cookie, nil), "")
	if a.code != 200 || a.body["role"] != "admin" || a.body["csrfToken"] != csrf || a.body["expiresAt"] == nil {
		t.Fatalf("GET session: %d %v", a.code, a.body)
	}
	if a := do(t, c, "GET", ts.URL+api.PathStatus, withCookie(cookie, nil), ""); a.code != 200 {
		t.Fatalf("status with the cookie: %d", a.code)
	}
	// State-changing: 403 without or with a wrong CSRF token, nothing done.
	for _, hdr := range []map[string]string{nil, {api.CSRFHeader: "wrong"}, {api.CSRFHeader: csrf + "x"}, {api.CSRFHeader: ""}} {
		for _, p := range []string{api.PathActivate, api.PathClear, api.PathQuotaConsume, api.PathPolicyReload} {
			a := do(t, c, "POST", ts.URL+p, withCookie(cookie, hdr), `{"licenseKey":"LH-TEST-KEY-00001","batch":1}`)
			if a.code != 403 || a.body["error"] != "csrf" {
				t.Errorf("POST %s with %v: %d %v, want 403 csrf", p, hdr, a.code, a.body)
			}
		}
	}
	if a := do(t, c, "GET", ts.URL+api.PathStatus, withCookie(cookie, nil), ""); a.body["usage"].(map[string]any)["total"] != 0.0 {
		t.Fatalf("a refused consume counted: %v", a.body["usage"])
	}
	a = do(t, c, "POST", ts.URL+api.PathQuotaConsume, withCookie(cookie, map[string]string{api.CSRFHeader: csrf}), `{"batch":1}`)
	if a.code != 200 || a.body["allowed"] != true {
		t.Fatalf("consume with the CSRF token: %d %v", a.code, a.body)
	}
	// A bearer header wins over the cookie and needs no CSRF token; a wrong
	// bearer header is 401 even with a good cookie.
	if a := do(t, c, "POST", ts.URL+api.PathQuotaCheck, withCookie(cookie, map[string]string{"Authorization": "Bearer " + adminToken}), `{"batch":1}`); a.code != 200 {
		t.Errorf("bearer with cookie: %d", a.code)
	}
	if a := do(t, c, "GET", ts.URL+api.PathStatus, withCookie(cookie, map[string]string{"Authorization": "Bearer nope"}), ""); a.code != 401 {
		t.Errorf("wrong bearer with a good cookie: %d", a.code)
	}

	// Sign out needs the CSRF token; afterwards the cookie opens nothing.
	if a := do(t, c, "DELETE", ts.URL+api.PathSession, withCookie(cookie, nil), ""); a.code != 403 {
		t.Fatalf("sign-out without CSRF: %d", a.code)
	}
	a = do(t, c, "DELETE", ts.URL+api.PathSession, withCookie(cookie, map[string]string{api.CSRFHeader: csrf}), "")
	if a.code != 200 || sessionCookie(t, a.resp).MaxAge >= 0 {
		t.Fatalf("sign-out: %d %v", a.code, a.resp.Header["Set-Cookie"])
	}
	if a := do(t, c, "GET", ts.URL+api.PathStatus, withCookie(cookie, nil), ""); a.code != 401 {
		t.Fatalf("status after sign-out: %d", a.code)
	}
	if a := do(t, c, "GET", ts.URL+api.PathSession, withCookie(cookie, nil), ""); a.code != 200 || a.body["signedIn"] != false || a.body["csrfToken"] != nil {
		t.Fatalf("session after sign-out: %d %v", a.code, a.body)
	}
	// A forged cookie is nothing.
	forged := &http.Cookie{Name: api.SessionCookie, Value: strings.Repeat("A", 43)}
	if a := do(t, c, "GET", ts.URL+api.PathStatus, withCookie(forged, nil), ""); a.code != 401 {
		t.Fatalf("forged cookie: %d", a.code)
	}
}

func TestSessionAppTokenIsReadOnly(t *testing.T) {
	ts, _ := newSessionServer(t, nil, false)
	cookie, csrf := signIn(t, ts, sessAppToken)
	c := validating(t)
	if a := do(t, c, "GET", ts.URL+api.PathSession, withCookie(cookie, nil), ""); a.body["role"] != "app" {
		t.Fatalf("role: %v", a.body)
	}
	if a := do(t, c, "GET", ts.URL+api.PathStatus, withCookie(cookie, nil), ""); a.code != 200 {
		t.Fatalf("status: %d", a.code)
	}
	for _, p := range []string{api.PathActivate, api.PathClear, api.PathHeartbeat, api.PathSwitchDevice, api.PathPolicyReload} {
		if a := do(t, c, "POST", ts.URL+p, withCookie(cookie, map[string]string{api.CSRFHeader: csrf}), `{}`); a.code != 403 || a.body["error"] != "forbidden" {
			t.Errorf("app session POST %s: %d %v", p, a.code, a.body)
		}
	}
	if a := do(t, c, "GET", ts.URL+api.PathEvents, withCookie(cookie, nil), ""); a.code != 403 {
		t.Errorf("app session events: %d", a.code)
	}
}

func TestSessionSecureOverTLS(t *testing.T) {
	ts, _ := newSessionServer(t, nil, true)
	ts.Client().Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the test's own certificate
	cookie, _ := signIn(t, ts, adminToken)
	if !cookie.Secure {
		t.Fatal("the session cookie is not Secure over TLS")
	}
}

// The security headers are on every answer; the page gets the page CSP,
// the API a deny-all one, and only the page the headers that act on a
// document that links or opens (docs/web.md). Without a page, / is a 404.
func TestSecurityHeadersAndPage(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>page</title>")
	})
	ts, _ := newSessionServer(t, page, false)
	c := ts.Client()
	check := func(name string, a answer, csp string) {
		t.Helper()
		h := a.resp.Header
		if h.Get("Content-Security-Policy") != csp || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cross-Origin-Resource-Policy") != "same-origin" ||
			h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v", name, h)
		}
		page := csp == server.PageCSP
		if (h.Get("Referrer-Policy") == "no-referrer") != page || (h.Get("Cross-Origin-Opener-Policy") == "same-origin") != page {
			t.Errorf("%s: Referrer-Policy %q, Cross-Origin-Opener-Policy %q; want them on the page only",
				name, h.Get("Referrer-Policy"), h.Get("Cross-Origin-Opener-Policy"))
		}
	}
	a := do(t, c, "GET", ts.URL+"/", nil, "")
	if a.code != 200 {
		t.Fatalf("page: %d", a.code)
	}
	check("page", a, server.PageCSP)
	if !strings.Contains(server.PageCSP, "default-src 'self'") || !strings.Contains(server.PageCSP, "frame-ancestors 'none'") ||
		strings.Contains(server.PageCSP, "unsafe-inline") || strings.Contains(server.PageCSP, "unsafe-eval") {
		t.Errorf("page CSP not strict: %s", server.PageCSP)
	}
	check("api", do(t, c, "GET", ts.URL+api.PathHealthz, nil, ""), "default-src 'none'; frame-ancestors 'none'")
	check("401", do(t, c, "GET", ts.URL+api.PathStatus, nil, ""), "default-src 'none'; frame-ancestors 'none'")
	if a := do(t, c, "POST", ts.URL+"/", nil, ""); a.code != 405 || a.resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: %d %v", a.code, a.resp.Header)
	}
	// Unknown /api/ paths stay the API's 404, not the page's.
	if a := do(t, c, "GET", ts.URL+"/api/nope", nil, ""); a.code != 404 || a.body["error"] != "not_found" {
		t.Errorf("/api/nope: %d %v", a.code, a.body)
	}

	ts2, _ := newSessionServer(t, nil, false)
	if a := do(t, ts2.Client(), "GET", ts2.URL+"/", nil, ""); a.code != 404 {
		t.Errorf("no page: / = %d", a.code)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A session ends at its expiry (absolute, from sign-in): the cookie then
// opens nothing, and GET /api/session says signed out.
func TestSessionExpires(t *testing.T) {
	ts, s := newSessionServer(t, nil, false)
	clock := enginetest.NewClock(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC))
	server.SetSessionClock(s, clock.Now)
	cookie, csrf := signIn(t, ts, adminToken)
	if cookie.MaxAge != int(server.DefaultSessionTTL.Seconds()) {
		t.Fatalf("Max-Age %d, want %v", cookie.MaxAge, server.DefaultSessionTTL)
	}
	clock.Advance(server.DefaultSessionTTL - time.Second)
	if a := do(t, validating(t), "GET", ts.URL+api.PathStatus, withCookie(cookie, nil), ""); a.code != 200 {
		t.Fatalf("a second before expiry: %d", a.code)
	}
	clock.Advance(time.Second)
	if a := do(t, validating(t), "GET", ts.URL+api.PathStatus, withCookie(cookie, nil), ""); a.code != 401 {
		t.Fatalf("at expiry: %d, want 401", a.code)
	}
	if a := do(t, validating(t), "POST", ts.URL+api.PathClear, withCookie(cookie, map[string]string{api.CSRFHeader: csrf}), "{}"); a.code != 401 {
		t.Fatalf("an expired session's CSRF token still acts: %d", a.code)
	}
	if a := do(t, validating(t), "GET", ts.URL+api.PathSession, withCookie(cookie, nil), ""); a.body["signedIn"] != false {
		t.Fatalf("expired session: %v", a.body)
	}
}

// The table is bounded: signing in again and again keeps at most 256
// sessions, dropping the oldest; the newest keeps working.
func TestSessionTableBounded(t *testing.T) {
	ts, s := newSessionServer(t, nil, false)
	clock := enginetest.NewClock(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC))
	server.SetSessionClock(s, clock.Now)
	var first, last *http.Cookie
	for i := range 300 {
		clock.Advance(time.Second)
		c, _ := signIn(t, ts, adminToken)
		if i == 0 {
			first = c
		}
		last = c
	}
	if n := server.SessionCount(s); n > 256 {
		t.Fatalf("%d sessions kept", n)
	}
	if a := do(t, validating(t), "GET", ts.URL+api.PathStatus, withCookie(last, nil), ""); a.code != 200 {
		t.Fatalf("newest session: %d", a.code)
	}
	if a := do(t, validating(t), "GET", ts.URL+api.PathStatus, withCookie(first, nil), ""); a.code != 401 {
		t.Fatalf("oldest session survived the bound: %d", a.code)
	}
}

// A one-time sign-in link: made with the admin token only, signs in as
// admin once, and no more after its expiry.
func TestSessionLink(t *testing.T) {
	ts, s := newSessionServer(t, nil, false)
	clock := enginetest.NewClock(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC))
	server.SetSessionClock(s, clock.Now)
	c := validating(t)
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	link := func() string {
		t.Helper()
		a := do(t, c, "POST", ts.URL+api.PathSessionLink, bearer(adminToken), "")
		code, _ := a.body["code"].(string)
		if a.code != 200 || len(code) < 40 || a.body["expiresAt"] != clock.Now().Add(server.LinkTTL).Format(time.RFC3339) {
			t.Fatalf("link: %d %v", a.code, a.body)
		}
		return code
	}
	if a := do(t, c, "POST", ts.URL+api.PathSessionLink, bearer(sessAppToken), ""); a.code != 403 {
		t.Fatalf("the app token made a link: %d", a.code)
	}
	if a := do(t, c, "POST", ts.URL+api.PathSessionLink, nil, ""); a.code != 401 {
		t.Fatalf("no token made a link: %d", a.code)
	}
	code := link()
	a := do(t, c, "POST", ts.URL+api.PathSession, jsonCT, `{"code":"`+code+`"}`)
	if a.code != 200 || a.body["role"] != "admin" {
		t.Fatalf("sign-in with the link: %d %v", a.code, a.body)
	}
	cookie := sessionCookie(t, a.resp)
	if a := do(t, c, "GET", ts.URL+api.PathStatus, withCookie(cookie, nil), ""); a.code != 200 {
		t.Fatalf("the link's session: %d", a.code)
	}
	// Works once.
	if a := do(t, c, "POST", ts.URL+api.PathSession, jsonCT, `{"code":"`+code+`"}`); a.code != 401 || a.body["error"] != "link_invalid" || len(a.resp.Cookies()) != 0 {
		t.Fatalf("second use: %d %v", a.code, a.body)
	}
	// Expires.
	code = link()
	clock.Advance(server.LinkTTL)
	if a := do(t, c, "POST", ts.URL+api.PathSession, jsonCT, `{"code":"`+code+`"}`); a.code != 401 {
		t.Fatalf("expired link: %d", a.code)
	}
	// A browser session makes one only with its CSRF token.
	ck, csrf := signIn(t, ts, adminToken)
	if a := do(t, c, "POST", ts.URL+api.PathSessionLink, withCookie(ck, nil), ""); a.code != 403 {
		t.Fatalf("link by cookie without CSRF: %d", a.code)
	}
	if a := do(t, c, "POST", ts.URL+api.PathSessionLink, withCookie(ck, map[string]string{api.CSRFHeader: csrf}), ""); a.code != 200 {
		t.Fatalf("link by cookie with CSRF: %d", a.code)
	}
}

// Sign-ins, requests with cookies and sign-outs at once: every session
// works until it signs out (go test -race covers the table's locking).
func TestSessionsConcurrent(t *testing.T) {
	ts, _ := newSessionServer(t, nil, false)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for range 16 {
		wg.Go(func() {
			c := ts.Client()
			a := do(t, c, "POST", ts.URL+api.PathSession, jsonCT, `{"token":"`+adminToken+`"}`)
			if a.code != 200 {
				errs <- fmt.Sprintf("sign-in %d", a.code)
				return
			}
			var ck *http.Cookie
			for _, x := range a.resp.Cookies() {
				ck = x
			}
			csrf, _ := a.body["csrfToken"].(string)
			for range 5 {
				if a := do(t, c, "POST", ts.URL+api.PathQuotaCheck, withCookie(ck, map[string]string{api.CSRFHeader: csrf}), `{"batch":1}`); a.code != 200 {
					errs <- fmt.Sprintf("check %d", a.code)
				}
			}
			if a := do(t, c, "DELETE", ts.URL+api.PathSession, withCookie(ck, map[string]string{api.CSRFHeader: csrf}), ""); a.code != 200 {
				errs <- fmt.Sprintf("sign-out %d", a.code)
			}
			if a := do(t, c, "GET", ts.URL+api.PathStatus, withCookie(ck, nil), ""); a.code != 401 {
				errs <- fmt.Sprintf("after sign-out %d", a.code)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
