// Package web is the host's admin page for headless appliances
// (docs/web.md): static HTML, CSS and plain JavaScript embedded in the
// binary, no build step, no CDN. The page is a client of the local JSON API
// like any other; it holds no state and has no path to the engine of its own.
// The server (internal/server) mounts it at / and adds the security headers.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// DefaultLicenseURL is where the page's "Get a license" link points by
// default (the same as the tray's).
const DefaultLicenseURL = "https://license.zhoujie218.top/"

// Options configures the page.
type Options struct {
	// LicenseURL is the "Get a license" link; empty means DefaultLicenseURL.
	// It must be an absolute http(s) URL.
	LicenseURL string
}

// CheckLicenseURL accepts an absolute http(s) URL for the "Get a license"
// link.
func CheckLicenseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// asset is one embedded file, ready to serve.
type asset struct {
	name  string
	body  []byte
	ctype string
	etag  string
}

// Handler serves the page: GET / (index.html) and GET /ui/<version>/<file>.
type Handler struct {
	version string // a hash of every asset: new assets, new URLs
	index   asset
	assets  map[string]asset // by file name under static/, "index.html" excluded
	modTime time.Time
}

var ctypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".json": "application/json; charset=utf-8",
	".svg":  "image/svg+xml",
}

// New builds the handler: it hashes the embedded assets and renders
// index.html with their versioned URLs and the license link.
func New(opt Options) (*Handler, error) {
	lic := opt.LicenseURL
	if lic == "" {
		lic = DefaultLicenseURL
	}
	if err := CheckLicenseURL(lic); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	h := &Handler{assets: map[string]asset{}, modTime: time.Unix(0, 0)}
	sum := sha256.New()
	var names []string
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		names = append(names, strings.TrimPrefix(p, "static/"))
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var indexSrc []byte
	for _, n := range names {
		b, err := static.ReadFile("static/" + n)
		if err != nil {
			return nil, err
		}
		ct, ok := ctypes[path.Ext(n)]
		if !ok {
			return nil, fmt.Errorf("web: no content type for %s", n)
		}
		fmt.Fprintf(sum, "%s\x00%d\x00", n, len(b))
		sum.Write(b)
		if n == "index.html" {
			indexSrc = b
			continue
		}
		h.assets[n] = asset{name: n, body: b, ctype: ct, etag: etag(b)}
	}
	if indexSrc == nil {
		return nil, errors.New("web: index.html is missing")
	}
	h.version = hex.EncodeToString(sum.Sum(nil))[:12]
	tpl, err := template.New("index").Delims("[[", "]]").Parse(string(indexSrc))
	if err != nil {
		return nil, fmt.Errorf("web: index.html: %w", err)
	}
	var buf bytes.Buffer
	if err := tpl.Execute(&buf, map[string]string{"Base": "/ui/" + h.version + "/", "LicenseURL": lic}); err != nil {
		return nil, fmt.Errorf("web: index.html: %w", err)
	}
	h.index = asset{name: "index.html", body: buf.Bytes(), ctype: ctypes[".html"], etag: etag(buf.Bytes())}
	return h, nil
}

func etag(b []byte) string {
	s := sha256.Sum256(b)
	return `"` + hex.EncodeToString(s[:8]) + `"`
}

// Version is the asset version in the page's URLs (/ui/<version>/…).
func (h *Handler) Version() string { return h.version }

// FirstLoad lists the URLs a browser fetches on the page's first load with
// their sizes in bytes: the page, its script, its style, its icon and one
// language file (the larger).
func (h *Handler) FirstLoad() map[string]int {
	out := map[string]int{"/": len(h.index.body)}
	lang := ""
	for _, n := range []string{"i18n/en.json", "i18n/zh.json"} {
		if a, ok := h.assets[n]; ok && (lang == "" || len(a.body) > len(h.assets[lang].body)) {
			lang = n
		}
	}
	for n, a := range h.assets {
		if strings.HasPrefix(n, "i18n/") && n != lang {
			continue
		}
		out["/ui/"+h.version+"/"+n] = len(a.body)
	}
	return out
}

// Serves reports whether path is one of the page's files (the server logs
// such paths as they are).
func (h *Handler) Serves(p string) bool {
	if p == "/" || p == "/index.html" {
		return true
	}
	rest, ok := strings.CutPrefix(p, "/ui/")
	if !ok {
		return false
	}
	_, name, ok := strings.Cut(rest, "/")
	_, found := h.assets[name]
	return ok && found
}

// ServeHTTP serves GET and HEAD. index.html is revalidated on every load
// (no-cache, ETag); a versioned asset is immutable for a year, since its URL
// changes with its content. An asset asked under an older version is still
// served, revalidated, so a page open across an upgrade keeps working.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "/" || p == "/index.html" {
		h.serve(w, r, h.index, "no-cache")
		return
	}
	rest, ok := strings.CutPrefix(p, "/ui/")
	if ok {
		ver, name, ok := strings.Cut(rest, "/")
		if a, found := h.assets[name]; ok && found {
			cc := "no-cache"
			if ver == h.version {
				cc = "public, max-age=31536000, immutable"
			}
			h.serve(w, r, a, cc)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("not found: the admin page is at /\n"))
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, a asset, cacheControl string) {
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("Cache-Control", cacheControl)
	w.Header().Set("ETag", a.etag)
	http.ServeContent(w, r, "", h.modTime, bytes.NewReader(a.body))
}
