package licserver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"github.com/licensehost/licensehost/internal/licapi"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/licensehost/licensehost/internal/licserver/store"
	"github.com/licensehost/licensehost/internal/signing"
)

// Admin API routes (bearer token).
const (
	PathAdminKeys  = "/api/admin/keys"
	PathAdminTypes = "/api/admin/types"
	PathAdminAudit = "/api/admin/audit"
	PathHealthz    = "/healthz"
)

// maxBody caps request bodies.
const maxBody = 64 << 10

// HandlerConfig configures Handler.
type HandlerConfig struct {
	Service    *Service
	PrivateKey ed25519.PrivateKey // signs every client answer
	AdminToken string             // bearer token of the admin API; empty disables it
	Logger     *slog.Logger
	// Keys, when set, replaces PrivateKey: its current key signs answers
	// (the header names its kid) and activation files, and the activation
	// and signing-key admin routes are served (activation_http.go).
	Keys *Keyring
}

type handler struct {
	svc   *Service
	priv  ed25519.PrivateKey
	token [32]byte // sha256 of the admin token; compared in constant time
	admin bool
	log   *slog.Logger
	ops   Admin
	keys  *Keyring
	act   ActivationAdmin
}

// Handler returns the server's HTTP handler: the client contract, the admin
// API and /healthz.
func Handler(cfg HandlerConfig) http.Handler {
	h := &handler{svc: cfg.Service, priv: cfg.PrivateKey, log: cfg.Logger, admin: cfg.AdminToken != ""}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.token = sha256.Sum256([]byte(cfg.AdminToken))
	h.ops = cfg.Service.AdminAs("admin-api")
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+licapi.PathVerify, h.verify)
	mux.HandleFunc("POST "+licapi.PathSwitchDevice, h.switchDevice)
	mux.HandleFunc("GET "+PathHealthz, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}` + "\n"))
	})
	mux.HandleFunc("POST "+PathAdminKeys, h.auth(h.issueKey))
	mux.HandleFunc("GET "+PathAdminKeys, h.auth(h.listKeys))
	mux.HandleFunc("GET "+PathAdminKeys+"/{key}", h.auth(h.getKey))
	mux.HandleFunc("POST "+PathAdminKeys+"/{key}/{action}", h.auth(h.keyAction))
	mux.HandleFunc("DELETE "+PathAdminKeys+"/{key}/devices/{machine}", h.auth(h.unbind))
	mux.HandleFunc("POST "+PathAdminTypes, h.auth(h.addType))
	mux.HandleFunc("GET "+PathAdminTypes, h.auth(h.listTypes))
	mux.HandleFunc("GET "+PathAdminAudit, h.auth(h.audit))
	if cfg.Keys != nil {
		h.keys = cfg.Keys
		h.act = cfg.Service.ActivationsAs("admin-api", cfg.Keys)
		h.activationRoutes(mux)
	}
	return mux
}

// clientIP is the peer address of the connection. licensed does not trust
// X-Forwarded-For (see docs/licensed.md).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// decodeClient reads a client body; on failure it returns a 400 answer.
func decodeClient(w http.ResponseWriter, r *http.Request, v any) (Answer, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		return fail(400, licapi.MsgBadRequest, "invalid_json"), false
	}
	return Answer{}, true
}

// nonce returns the request's nonce, or ok=false when it is unusable.
func nonce(r *http.Request) (string, bool) {
	n := r.Header.Get(signing.HeaderNonce)
	if len(n) > signing.MaxNonceLen || !signing.ValidField(n) {
		return "", false
	}
	return n, true
}

func (h *handler) verify(w http.ResponseWriter, r *http.Request) {
	serveClient(h, w, r, licapi.PathVerify, h.svc.Verify, func(req licapi.VerifyRequest) string { return req.MachineID })
}

func (h *handler) switchDevice(w http.ResponseWriter, r *http.Request) {
	serveClient(h, w, r, licapi.PathSwitchDevice, h.svc.SwitchDevice, func(req licapi.SwitchRequest) string { return req.OldMachineID })
}

// serveClient answers one client contract call: check the nonce, decode the
// body, run call, and write the signed answer over the request's machine id.
func serveClient[Req any](h *handler, w http.ResponseWriter, r *http.Request, path string,
	call func(context.Context, Req, string) Answer, machineID func(Req) string) {
	n, ok := nonce(r)
	var req Req
	var ans Answer
	switch {
	case !ok:
		ans = fail(400, licapi.MsgBadRequest, "invalid_nonce")
	default:
		if ans, ok = decodeClient(w, r, &req); ok {
			ans = call(r.Context(), req, clientIP(r))
		}
	}
	h.writeSigned(w, path, machineID(req), n, ans)
}

// writeSigned encodes ans and signs the exact bytes sent.
func (h *handler) writeSigned(w http.ResponseWriter, path, machineID, nonce string, ans Answer) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ans); err != nil {
		h.log.Error("encode answer", "err", err)
		ans = fail(500, licapi.MsgInternal, "internal_error")
		buf.Reset()
		enc.Encode(ans)
	}
	body := buf.Bytes()
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	if !signing.ValidField(machineID) {
		machineID = ""
	}
	if h.keys != nil {
		kid, priv := h.keys.Current()
		hd.Set(signing.HeaderSignature, signing.Sign(priv, path, machineID, nonce, h.svc.clock.Now(), body)+";kid="+kid)
	} else if h.priv != nil {
		hd.Set(signing.HeaderSignature, signing.Sign(h.priv, path, machineID, nonce, h.svc.clock.Now(), body))
	}
	if ans.Status == http.StatusTooManyRequests && ans.RetryAfter > 0 {
		hd.Set("Retry-After", strconv.Itoa(ans.RetryAfter))
	}
	w.WriteHeader(ans.Status)
	w.Write(body)
}

// --- admin API ---

func (h *handler) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.admin {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "admin API disabled"})
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(tok))
		if !ok || subtle.ConstantTimeCompare(sum[:], h.token[:]) != 1 {
			h.log.Warn("admin API: unauthorized", "remote", clientIP(r), "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="licensed"`)
			writeError(w, ErrUnauthorized)
			return
		}
		next(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// adminErrors gives each admin error its code and HTTP status on the admin
// API (writeError); AdminClient maps a code back to its error.
var adminErrors = []struct {
	err    error
	code   string
	status int
}{
	{ErrNoSuchKey, "no_such_key", http.StatusNotFound},
	{ErrNoSuchType, "no_such_type", http.StatusNotFound},
	{ErrNoSuchDevice, "no_such_device", http.StatusNotFound},
	{ErrNoSuchActivation, "no_such_activation", http.StatusNotFound},
	{ErrTypeExists, "type_exists", http.StatusConflict},
	{ErrRevokedFinal, "revoked_final", http.StatusConflict},
	{ErrInvalid, "invalid", http.StatusBadRequest},
	{ErrRefused, "refused", http.StatusForbidden},
	{ErrUnauthorized, "unauthorized", http.StatusUnauthorized},
}

// adminError is the admin API's error body.
type adminError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// writeError answers err: an admin error with its code and status, any
// other as a 500 that does not say more (it is logged). It reports whether
// err was an admin error.
func writeError(w http.ResponseWriter, err error) bool {
	for _, e := range adminErrors {
		if errors.Is(err, e.err) {
			writeJSON(w, e.status, adminError{Error: err.Error(), Code: e.code})
			return true
		}
	}
	writeJSON(w, http.StatusInternalServerError, adminError{Error: "internal error", Code: "internal"})
	return false
}

func decodeAdmin(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeLimited(w, r, v, maxBody)
}

// decodeLimited decodes an admin body of at most limit bytes into v,
// refusing unknown fields; on failure it has answered.
func decodeLimited(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, errors.Join(ErrInvalid, err))
		return false
	}
	return true
}

func (h *handler) reply(w http.ResponseWriter, status int, v any, err error) {
	if err != nil {
		if !writeError(w, err) {
			h.log.Error("admin API failed", "err", err)
		}
		return
	}
	writeJSON(w, status, v)
}

func (h *handler) issueKey(w http.ResponseWriter, r *http.Request) {
	var req IssueRequest
	if !decodeAdmin(w, r, &req) {
		return
	}
	l, err := h.ops.IssueKey(r.Context(), req)
	h.reply(w, http.StatusCreated, l, err)
}

func (h *handler) listKeys(w http.ResponseWriter, r *http.Request) {
	f := KeyFilter{Status: store.Status(r.URL.Query().Get("status")), Type: r.URL.Query().Get("type")}
	ls, err := h.ops.ListKeys(r.Context(), f)
	h.reply(w, http.StatusOK, ls, err)
}

func (h *handler) getKey(w http.ResponseWriter, r *http.Request) {
	l, err := h.ops.GetKey(r.Context(), r.PathValue("key"))
	h.reply(w, http.StatusOK, l, err)
}

func (h *handler) keyAction(w http.ResponseWriter, r *http.Request) {
	l, err := h.ops.SetKeyStatus(r.Context(), r.PathValue("key"), KeyAction(r.PathValue("action")))
	h.reply(w, http.StatusOK, l, err)
}

func (h *handler) unbind(w http.ResponseWriter, r *http.Request) {
	l, err := h.ops.UnbindDevice(r.Context(), r.PathValue("key"), r.PathValue("machine"))
	h.reply(w, http.StatusOK, l, err)
}

func (h *handler) addType(w http.ResponseWriter, r *http.Request) {
	var t store.LicenseType
	if !decodeAdmin(w, r, &t) {
		return
	}
	t, err := h.ops.AddType(r.Context(), t)
	h.reply(w, http.StatusCreated, t, err)
}

func (h *handler) listTypes(w http.ResponseWriter, r *http.Request) {
	ts, err := h.ops.ListTypes(r.Context())
	h.reply(w, http.StatusOK, ts, err)
}

func (h *handler) audit(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	es, err := h.ops.AuditLog(r.Context(), limit, r.URL.Query().Get("key"))
	h.reply(w, http.StatusOK, es, err)
}
