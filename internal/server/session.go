package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"mime"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/licensehost/licensehost/api"
)

// Browser sessions of the web admin page (docs/web.md): POST /api/session
// trades a token for an HttpOnly, SameSite=Strict cookie; /api/* accepts the
// cookie in place of the bearer header, and with the cookie every
// state-changing request must carry the session's CSRF token.

// DefaultSessionTTL is how long a browser session lasts (absolute, from
// sign-in).
const DefaultSessionTTL = 12 * time.Hour

// maxSessions bounds the session table; signing in beyond it drops the
// session closest to its expiry.
const maxSessions = 256

// LinkTTL is how long a one-time sign-in link works; maxLinks bounds the
// links waiting to be used (the oldest is dropped).
const (
	LinkTTL  = 5 * time.Minute
	maxLinks = 16
)

// Content-Security-Policy of the admin page and of every API answer.
const (
	PageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	apiCSP = "default-src 'none'; frame-ancestors 'none'"
)

type session struct {
	role    role
	csrf    string
	expires time.Time
}

type sessionStore struct {
	mu  sync.Mutex
	ttl time.Duration
	now func() time.Time
	m   map[[32]byte]*session // by sha256 of the cookie value: the table never holds a usable cookie
	// links are one-time sign-in codes (by sha256) and their expiry.
	links map[[32]byte]time.Time
}

func newSessionStore(ttl time.Duration) *sessionStore {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	return &sessionStore{ttl: ttl, now: time.Now, m: map[[32]byte]*session{}, links: map[[32]byte]time.Time{}}
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create stores a new session and returns its cookie value.
func (st *sessionStore) create(r role) (id string, s *session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.now()
	for k, v := range st.m {
		if !now.Before(v.expires) {
			delete(st.m, k)
		}
	}
	if len(st.m) >= maxSessions {
		keys := make([][32]byte, 0, len(st.m))
		for k := range st.m {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return st.m[keys[i]].expires.Before(st.m[keys[j]].expires) })
		for _, k := range keys[:len(st.m)-maxSessions+1] {
			delete(st.m, k)
		}
	}
	id = randomToken()
	s = &session{role: r, csrf: randomToken(), expires: now.Add(st.ttl)}
	st.m[sha256.Sum256([]byte(id))] = s
	return id, s
}

// lookup returns the live session of a cookie value, or nil.
func (st *sessionStore) lookup(id string) *session {
	if id == "" {
		return nil
	}
	k := sha256.Sum256([]byte(id))
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.m[k]
	if s == nil {
		return nil
	}
	if !st.now().Before(s.expires) {
		delete(st.m, k)
		return nil
	}
	cp := *s
	return &cp
}

// newLink stores a one-time sign-in code.
func (st *sessionStore) newLink() (code string, expires time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.now()
	for k, exp := range st.links {
		if !now.Before(exp) {
			delete(st.links, k)
		}
	}
	for len(st.links) >= maxLinks {
		var oldest [32]byte
		first := true
		for k, exp := range st.links {
			if first || exp.Before(st.links[oldest]) {
				oldest, first = k, false
			}
		}
		delete(st.links, oldest)
	}
	code = randomToken()
	expires = now.Add(LinkTTL)
	st.links[sha256.Sum256([]byte(code))] = expires
	return code, expires
}

// useLink consumes a code: true once, while it has not expired.
func (st *sessionStore) useLink(code string) bool {
	if code == "" {
		return false
	}
	k := sha256.Sum256([]byte(code))
	st.mu.Lock()
	defer st.mu.Unlock()
	exp, ok := st.links[k]
	delete(st.links, k)
	return ok && st.now().Before(exp)
}

func (st *sessionStore) delete(id string) {
	k := sha256.Sum256([]byte(id))
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, k)
}

// csrfOK compares the header against the session's CSRF token in constant time.
func (s *session) csrfOK(got string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.csrf))
	return got != "" && subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// stateChanging is every method but the safe ones.
func stateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

func roleName(r role) string {
	switch r {
	case roleAdmin:
		return "admin"
	case roleApp:
		return "app"
	}
	return ""
}

// sessionFromCookie returns the request's live session and its cookie value.
func (s *Server) sessionFromCookie(r *http.Request) (*session, string) {
	c, err := r.Cookie(api.SessionCookie)
	if err != nil {
		return nil, ""
	}
	return s.sessions.lookup(c.Value), c.Value
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, value string, expires time.Time) {
	c := &http.Cookie{
		Name: api.SessionCookie, Value: value, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires.UTC()
		c.MaxAge = int(expires.Sub(s.sessions.now()).Seconds())
	}
	http.SetCookie(w, c)
}

func sessionBody(sess *session) api.Session {
	if sess == nil {
		return api.Session{SignedIn: false}
	}
	exp := sess.expires.UTC()
	return api.Session{SignedIn: true, Role: roleName(sess.role), CSRFToken: sess.csrf, ExpiresAt: &exp}
}

// sessionCreate is POST /api/session {"token": "..."}. It needs a JSON
// Content-Type, which a cross-site HTML form cannot send (no login CSRF).
func (s *Server) sessionCreate(w http.ResponseWriter, r *http.Request) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &httpError{http.StatusUnsupportedMediaType, "unsupported_media_type", "sign-in needs Content-Type: application/json"}
	}
	var req api.SessionRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if (req.Token == "") == (req.Code == "") {
		return badRequest("give either token or code")
	}
	got := roleNone
	if req.Code != "" {
		if !s.sessions.useLink(req.Code) {
			s.log.Warn("web sign-in refused: a used, expired or wrong sign-in link", "remote", r.RemoteAddr)
			writeError(w, http.StatusUnauthorized, "link_invalid", "this sign-in link was used already, has expired or is wrong: run licensehost web --link again, or sign in with the token")
			return nil
		}
		got = roleAdmin
	} else if got = s.roleOf(req.Token); got == roleNone {
		s.log.Warn("web sign-in refused: wrong token", "remote", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, "unauthorized", "wrong token: use the admin token (admin.token in the data directory) or the app token")
		return nil
	}
	if _, old := s.sessionFromCookie(r); old != "" {
		s.sessions.delete(old) // a new sign-in never keeps an old session id
	}
	id, sess := s.sessions.create(got)
	s.setSessionCookie(w, r, id, sess.expires)
	s.log.Info("web sign-in", "role", roleName(got), "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, sessionBody(sess))
	return nil
}

// sessionLink is POST /api/session/link (admin): a one-time code for
// <page>#signin=<code>. The code is never logged.
func (s *Server) sessionLink(w http.ResponseWriter, r *http.Request) error {
	if err := decode(w, r, &struct{}{}); err != nil {
		return err
	}
	code, exp := s.sessions.newLink()
	s.log.Info("web sign-in link made", "expiresAt", exp.UTC().Format(time.RFC3339), "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, api.SessionLink{Code: code, ExpiresAt: exp.UTC()})
	return nil
}

// sessionGet is GET /api/session: the cookie's session with its CSRF token,
// or {"signedIn": false} (200, so the page's first look is not an error).
func (s *Server) sessionGet(w http.ResponseWriter, r *http.Request) error {
	sess, _ := s.sessionFromCookie(r)
	writeJSON(w, http.StatusOK, sessionBody(sess))
	return nil
}

// sessionDelete is DELETE /api/session: signs out. A live session needs its
// CSRF token like every state-changing request; a stale or missing cookie is
// just cleared.
func (s *Server) sessionDelete(w http.ResponseWriter, r *http.Request) error {
	sess, id := s.sessionFromCookie(r)
	if sess != nil {
		if !sess.csrfOK(r.Header.Get(api.CSRFHeader)) {
			return errCSRF
		}
		s.sessions.delete(id)
		s.log.Info("web sign-out", "role", roleName(sess.role), "remote", r.RemoteAddr)
	}
	s.setSessionCookie(w, r, "", time.Time{})
	writeJSON(w, http.StatusOK, api.Session{SignedIn: false})
	return nil
}

var errCSRF = &httpError{http.StatusForbidden, "csrf", "missing or wrong " + api.CSRFHeader + " header: a request made with the session cookie must carry the session's CSRF token"}

// securityHeaders go on every answer: the page's, and the API's (which a
// browser may also open directly). An API answer carries what protects a
// JSON document — no framing (CSP frame-ancestors, and X-Frame-Options for
// browsers without CSP 2), no sniffing, no cross-origin embedding (CORP) —
// the list of OWASP's REST Security Cheat Sheet; Cache-Control: no-store
// goes on every answer besides. The page also gets Referrer-Policy and
// Cross-Origin-Opener-Policy, which act only on a document that links,
// loads or opens (a JSON answer does none of it, and the session cookie is
// SameSite=Strict, so a cross-site window opening the API gets a 401).
// Each header of an API answer is written on every quota check
// (docs/web.md; docs/benchmarks.md, the real binary against a bare handler).
func securityHeaders(h http.Header, page bool) {
	fixed := apiHeaders
	if page {
		fixed = pageHeaders
	}
	for _, f := range fixed {
		h[f.key] = f.value
	}
}

// fixedHeader is a header whose value every answer shares: built once,
// canonical, and never written to — Header.Set replaces the slice and Add
// appends to a full one, which copies it; net/http only reads it.
type fixedHeader struct {
	key   string
	value []string
}

func fixed(key, value string) fixedHeader {
	return fixedHeader{http.CanonicalHeaderKey(key), []string{value}[:1:1]}
}

var (
	apiHeaders  = securitySet(apiCSP)
	pageHeaders = append(securitySet(PageCSP),
		fixed("Referrer-Policy", "no-referrer"),
		fixed("Cross-Origin-Opener-Policy", "same-origin"))
	noStore  = fixed("Cache-Control", "no-store")
	jsonType = fixed("Content-Type", "application/json; charset=utf-8")
)

// securitySet is what every answer carries, with its CSP.
func securitySet(csp string) []fixedHeader {
	return []fixedHeader{
		fixed("Content-Security-Policy", csp),
		fixed("X-Frame-Options", "DENY"),
		fixed("X-Content-Type-Options", "nosniff"),
		fixed("Cross-Origin-Resource-Policy", "same-origin"),
	}
}

// servePage hands a non-API path to the admin page's handler (GET and HEAD
// only; it sets its own caching headers).
func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header(), true)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on the admin page; use GET")
		return
	}
	s.opt.Page.ServeHTTP(w, r)
}

// pageServes reports whether path is one of the page's own files (logged
// as is; any other path is logged by its length only).
func (s *Server) pageServes(path string) bool {
	p, ok := s.opt.Page.(interface{ Serves(string) bool })
	return ok && isPagePath(path) && p.Serves(path)
}

// isPagePath: everything outside the API's own paths belongs to the page.
func isPagePath(p string) bool {
	return !strings.HasPrefix(p, "/api/") && p != api.PathHealthz && p != api.PathMetrics && p != api.PathOpenAPI
}
