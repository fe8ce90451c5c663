// Package server is the host's local HTTP API (docs/api.md): routing, bearer
// token auth, bounded JSON bodies, the answer shapes of docs/api.md, metrics
// and the OpenAPI document. It turns HTTP into engine calls and nothing more.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/mask"
)

// Engine is what the server needs of the engine (satisfied by *engine.Engine).
type Engine interface {
	Config() engine.Config
	MachineID() string
	Status(ctx context.Context) (engine.StatusView, error)
	Activate(ctx context.Context, key string) (engine.ActionResult, error)
	Heartbeat(ctx context.Context) (engine.ActionResult, error)
	Clear(ctx context.Context) (engine.Evaluation, error)
	RequestDeviceSwitch(ctx context.Context, newMachineID, reason string) (engine.ActionResult, error)
	CheckQuota(ctx context.Context, req engine.QuotaRequest) (engine.QuotaAnswer, error)
	ConsumeQuota(ctx context.Context, req engine.QuotaRequest) (engine.QuotaAnswer, error)
	Events(ctx context.Context, limit int) ([]engine.Event, error)
	Product() engine.Product
	Features(ctx context.Context) (engine.FeatureEvaluation, error)
	CheckFeature(ctx context.Context, name string) (engine.FeatureStatus, error)
}

// PolicyInfo, when the server has one, names the policy per license type and
// reloads the policy directory.
type PolicyInfo interface {
	PolicyFor(licenseType string) string
	Reload(ctx context.Context) error
}

// Options configures the server.
type Options struct {
	AdminToken string // required: grants every route
	AppToken   string // optional: read-only, status, machine-id, quota and features only
	Logger     *slog.Logger
	Metrics    *Metrics   // nil: no /metrics route
	Policies   PolicyInfo // nil: builtin only, no reload
	Ready      func() bool
	// Notes are warnings about the setup, shown in every status.
	Notes []string
	// Activations serves offline activation (internal/server/activation.go);
	// nil: those routes answer 503.
	Activations Activations
	// Backup writes a backup of the daemon's state (GET /api/backup); nil:
	// the route answers 503.
	Backup func(ctx context.Context, w io.Writer) error
	// Page, when set, serves the web admin page at / and every other path
	// outside /api/ (docs/web.md); nil: those paths are 404.
	Page http.Handler
	// SessionTTL is how long a browser session lasts; 0 means
	// DefaultSessionTTL.
	SessionTTL time.Duration
}

type role int

const (
	roleNone role = iota
	roleApp
	roleAdmin
)

type route struct {
	method  string
	path    string
	min     role // roleNone: public
	handler func(w http.ResponseWriter, r *http.Request) error
}

// Server is the HTTP handler of the local API.
type Server struct {
	eng    Engine
	opt    Options
	log    *slog.Logger
	admin  [32]byte
	app    [32]byte
	hasApp bool
	routes map[string]map[string]route // path → method → route
	doc    []byte                      // the OpenAPI document served
	// sessions are the web page's signed-in browsers (session.go).
	sessions *sessionStore
}

// New returns the API handler. It fails when the admin token is empty.
func New(eng Engine, opt Options) (*Server, error) {
	if strings.TrimSpace(opt.AdminToken) == "" {
		return nil, errors.New("server: an admin token is required")
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{eng: eng, opt: opt, log: opt.Logger, admin: sha256.Sum256([]byte(opt.AdminToken))}
	if opt.AppToken != "" {
		s.app, s.hasApp = sha256.Sum256([]byte(opt.AppToken)), true
	}
	s.sessions = newSessionStore(opt.SessionTTL)
	var err error
	if s.doc, err = openAPIDoc(opt.Metrics != nil); err != nil {
		return nil, err
	}
	s.routes = map[string]map[string]route{}
	for _, rt := range s.table() {
		if s.routes[rt.path] == nil {
			s.routes[rt.path] = map[string]route{}
		}
		s.routes[rt.path][rt.method] = rt
	}
	return s, nil
}

func (s *Server) table() []route {
	rs := []route{
		{http.MethodGet, api.PathHealthz, roleNone, s.healthz},
		{http.MethodGet, api.PathOpenAPI, roleApp, s.openapi},
		{http.MethodGet, api.PathStatus, roleApp, s.status},
		{http.MethodGet, api.PathMachineID, roleApp, s.machineID},
		{http.MethodPost, api.PathActivate, roleAdmin, s.activate},
		{http.MethodPost, api.PathHeartbeat, roleAdmin, s.heartbeat},
		{http.MethodPost, api.PathClear, roleAdmin, s.clear},
		{http.MethodPost, api.PathSwitchDevice, roleAdmin, s.switchDevice},
		{http.MethodPost, api.PathQuotaCheck, roleApp, s.quotaCheck},
		{http.MethodPost, api.PathQuotaConsume, roleApp, s.quotaConsume},
		{http.MethodGet, api.PathEvents, roleAdmin, s.events},
		{http.MethodPost, api.PathPolicyReload, roleAdmin, s.policyReload},
		{http.MethodGet, api.PathPolicy, roleAdmin, s.policyList},
		{http.MethodGet, api.PathFeatures, roleApp, s.features},
		{http.MethodPost, api.PathFeatureCheck, roleApp, s.featureCheck},
		{http.MethodPost, api.PathSession, roleNone, s.sessionCreate},
		{http.MethodGet, api.PathSession, roleNone, s.sessionGet},
		{http.MethodDelete, api.PathSession, roleNone, s.sessionDelete},
		{http.MethodPost, api.PathSessionLink, roleAdmin, s.sessionLink},
	}
	rs = append(rs, s.activationRoutes()...)
	rs = append(rs, s.backupRoute()...)
	if s.opt.Metrics != nil {
		rs = append(rs, route{http.MethodGet, api.PathMetrics, roleApp, s.metrics})
	}
	return rs
}

// Routes lists "METHOD path" of every served route, sorted.
func (s *Server) Routes() []string {
	var out []string
	for p, ms := range s.routes {
		for m := range ms {
			out = append(out, m+" "+p)
		}
	}
	sort.Strings(out)
	return out
}

// statusRecorder captures the status for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// ServeHTTP routes, authenticates and logs one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	w = rec
	methods, known := s.routes[r.URL.Path]
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("handler panicked", "path", s.logPath(r, known), "panic", fmt.Sprint(p))
			writeError(w, http.StatusInternalServerError, "internal", "internal error")
		}
		if r.URL.Path != api.PathHealthz {
			// The access log: answered requests at debug level (a quota API
			// answers thousands a second; --log-level debug shows them),
			// refusals and errors at info and warn (docs/benchmarks.md).
			level := slog.LevelDebug
			switch {
			case rec.status >= 500:
				level = slog.LevelWarn
			case rec.status >= 400:
				level = slog.LevelInfo
			}
			if s.log.Enabled(r.Context(), level) {
				s.log.Log(r.Context(), level, "request", "method", r.Method, "path", s.logPath(r, known), "status", rec.status, "duration", time.Since(start).Round(time.Microsecond))
			}
		}
	}()
	h := w.Header()
	h[noStore.key] = noStore.value
	securityHeaders(h, false)

	if !known && s.opt.Page != nil && isPagePath(r.URL.Path) {
		s.servePage(w, r)
		return
	}
	if !known {
		// The path is not echoed: a client that put its token in the URL
		// must not see it reflected, nor find it in the access log.
		writeError(w, http.StatusNotFound, "not_found", "no such route (see GET /openapi.json for the routes)")
		return
	}
	rt, ok := methods[r.Method]
	if !ok && r.Method == http.MethodHead {
		rt, ok = methods[http.MethodGet]
	}
	if !ok {
		allow := make([]string, 0, len(methods))
		for m := range methods {
			allow = append(allow, m)
		}
		sort.Strings(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		return
	}
	if rt.min != roleNone {
		got, sess := s.authenticate(r)
		switch {
		case sess != nil && stateChanging(r.Method) && !sess.csrfOK(r.Header.Get(api.CSRFHeader)):
			s.fail(w, r, errCSRF)
			return
		case got == roleNone:
			w.Header().Set("WWW-Authenticate", `Bearer realm="licensehost"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing or invalid bearer token")
			return
		case got < rt.min:
			writeError(w, http.StatusForbidden, "forbidden", "the app token is read-only; this route needs the admin token")
			return
		}
	}
	if err := rt.handler(w, r); err != nil {
		s.fail(w, r, err)
	}
}

// logPath is the path as the access log shows it: a known route as is; an
// unknown one only by its length, since a client may have put a token or a
// license key in it.
func (s *Server) logPath(r *http.Request, known bool) string {
	if known || s.pageServes(r.URL.Path) {
		return r.URL.Path
	}
	return fmt.Sprintf("(unknown route, %d bytes)", len(r.URL.EscapedPath()))
}

// authenticate reads the bearer token, or, when the request has no
// Authorization header, the web session cookie (then sess is the session,
// whose CSRF token state-changing requests must carry).
func (s *Server) authenticate(r *http.Request) (got role, sess *session) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if sess, _ = s.sessionFromCookie(r); sess != nil {
			return sess.role, sess
		}
		return roleNone, nil
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return roleNone, nil
	}
	return s.roleOf(tok), nil
}

// roleOf compares a token in constant time against both tokens (hashing
// first so lengths never leak).
func (s *Server) roleOf(tok string) role {
	if strings.TrimSpace(tok) == "" {
		return roleNone
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	isAdmin := subtle.ConstantTimeCompare(sum[:], s.admin[:]) == 1
	isApp := s.hasApp && subtle.ConstantTimeCompare(sum[:], s.app[:]) == 1
	switch {
	case isAdmin:
		return roleAdmin
	case isApp:
		return roleApp
	}
	return roleNone
}

// httpError is an error with the status and code to answer with.
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, "bad_request", fmt.Sprintf(format, args...)}
}

// fail maps an error to an answer.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	switch {
	case errors.As(err, &he):
		writeError(w, he.status, he.code, he.msg)
	case errors.Is(err, engine.ErrInvalidRequest), errors.Is(err, engine.ErrInvalidMachineID):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, engine.ErrBusy):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "busy", engine.ErrBusy.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "unavailable", "request cancelled or timed out")
	default:
		s.log.Error("request failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error: "+err.Error())
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"success":false,"error":"internal","message":"could not encode the answer"}`)
	}
	h := w.Header()
	h[jsonType.key] = jsonType.value
	if len(b)+1 > autoLengthMax {
		h["Content-Length"] = []string{strconv.Itoa(len(b) + 1)}
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = w.Write(newline)
}

var newline = []byte{'\n'}

// autoLengthMax bounds the answers left to net/http to give a Content-Length:
// it does so for an answer still wholly buffered when the handler returns
// (up to its 2 KiB bufferBeforeChunkingSize). A larger answer declares its
// length itself, so that none is ever sent chunked (TestAnswersDeclareLength).
const autoLengthMax = 1024

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, api.Error{Success: false, Error: code, Message: msg})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	if s.opt.Ready != nil && !s.opt.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, api.Health{Status: "starting"})
		return nil
	}
	writeJSON(w, http.StatusOK, api.Health{Status: "ok"})
	return nil
}

func (s *Server) machineID(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, api.MachineID{MachineID: s.eng.MachineID()})
	return nil
}

func (s *Server) policyName(licenseType string) string {
	if s.opt.Policies == nil {
		return engine.BuiltinPolicyName
	}
	return s.opt.Policies.PolicyFor(licenseType)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	v, err := s.eng.Status(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.statusBody(v))
	return nil
}

func days(d time.Duration) float64 { return d.Hours() / 24 }

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Server) statusBody(v engine.StatusView) api.Status {
	cfg := s.eng.Config()
	rec, ev := v.Record, v.Evaluation
	st := api.Status{
		MachineID:   v.MachineID,
		Edition:     "community",
		LicenseKey:  mask.Key(rec.LicenseKey),
		Status:      string(ev.Status),
		IsSponsored: ev.IsSponsored,
		Reason:      ev.Reason,
		Limits:      api.Limits{Total: ev.Limits.Total, Batch: ev.Limits.Batch},
		Usage:       api.Usage{Total: v.Usage},
		License:     json.RawMessage("null"),
		TrustDays:   days(cfg.Trust),
		GraceDays:   days(cfg.Grace),
		Failures:    rec.ConsecutiveFailures,
		SwitchedTo:  rec.SwitchedToMachineID,
		ExpiresAt:   timePtr(rec.ExpiresAt),
		Preauth:     preauthBody(v.Features),
	}
	if len(v.Features.Features) > 0 {
		st.Features = featureList(v.Features)
	}
	if ev.Status == engine.StatusActive {
		st.Reason = ""
	}
	if ev.Status == engine.StatusTampered {
		st.Message = "the license record was tampered with: " + rec.Tampered + ". Community limits apply until a successful verification (heartbeat or activate) or a clear."
	}
	st.Notes = s.opt.Notes
	if ev.IsSponsored && rec.LastLicenseTypeName != "" {
		st.Edition = rec.LastLicenseTypeName
	}
	if rec.HasLicense() {
		st.RemoteVerified = timePtr(rec.RemoteVerifiedAt)
		if len(rec.License) > 0 {
			st.License = maskLicenseJSON(rec.License, rec.LicenseKey)
		}
	}
	st.Policy = s.policyName(quotaLicenseType(rec, ev))
	if !ev.GraceEndsAt.IsZero() {
		d := ev.GraceDaysLeft()
		st.GraceDaysLeft, st.GraceEndsAt = &d, timePtr(ev.GraceEndsAt)
	}
	if ev.Status == engine.StatusActive {
		st.TrustEndsAt = timePtr(ev.TrustEndsAt)
	}
	if !rec.LastRefresh.At.IsZero() {
		lr := rec.LastRefresh
		st.LastRefresh = &api.LastRefresh{Kind: lr.Kind, Success: lr.Success, HTTPStatus: lr.HTTPStatus, Message: lr.Message, At: lr.At}
	}
	return st
}

func quotaLicenseType(rec engine.Record, ev engine.Evaluation) string {
	if ev.IsSponsored {
		return rec.LastLicenseTypeName
	}
	return ""
}

// actionBody renders an engine result in the shape of docs/api.md, with the
// HTTP status: 200 success, 422 definitive rejection, 502 no trustworthy
// answer.
func (s *Server) actionBody(res engine.ActionResult, keys ...string) (int, api.ActionResponse) {
	cfg := s.eng.Config()
	body := api.ActionResponse{
		Success: res.Success, Status: string(res.Evaluation.Status),
		GraceDays: days(cfg.Grace), TrustDays: days(cfg.Trust),
	}
	if res.License != nil && len(res.License.Raw) > 0 {
		body.License = maskLicenseJSON(res.License.Raw, keys...)
	}
	if res.Success {
		return http.StatusOK, body
	}
	body.Message = res.Message
	body.Fallback = &api.Fallback{IsSponsored: res.Evaluation.IsSponsored, Status: string(res.Evaluation.Status)}
	code := http.StatusBadGateway
	if re := res.RemoteError; re != nil {
		data := maskLicenseJSON(re.Data, keys...)
		if len(data) == 0 {
			data = json.RawMessage("null")
		}
		body.RemoteError = &api.RemoteError{HTTPStatus: re.HTTPStatus, Data: data, Message: mask.Redact(re.Message, keys...)}
		body.Definitive = re.Definitive
		if re.Definitive {
			code = http.StatusUnprocessableEntity
		}
	}
	return code, body
}

// actionFailure answers a local refusal (bad input, no license) in the
// ActionResponse shape, so clients read one shape from these routes.
func (s *Server) actionFailure(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	v, err := s.eng.Status(r.Context())
	if err != nil {
		return err
	}
	cfg := s.eng.Config()
	writeJSON(w, status, api.ActionResponse{
		Success: false, Status: string(v.Evaluation.Status), Message: msg,
		Fallback:  &api.Fallback{IsSponsored: v.Evaluation.IsSponsored, Status: string(v.Evaluation.Status)},
		GraceDays: days(cfg.Grace), TrustDays: days(cfg.Trust),
	})
	return nil
}

// action answers a remote-backed operation. key is the license key the
// operation was about ("" when the caller did not name one: the stored key),
// masked wherever the answer would echo it.
func (s *Server) action(w http.ResponseWriter, r *http.Request, key string, res engine.ActionResult, err error) error {
	switch {
	case errors.Is(err, engine.ErrInvalidKeyFormat):
		return s.actionFailure(w, r, http.StatusBadRequest, engine.ErrInvalidKeyFormat.Error())
	case errors.Is(err, engine.ErrInvalidMachineID), errors.Is(err, engine.ErrInvalidRequest):
		return s.actionFailure(w, r, http.StatusBadRequest, err.Error())
	case errors.Is(err, engine.ErrNoLicense):
		return s.actionFailure(w, r, http.StatusConflict, "no license key is stored; activate one first")
	case errors.Is(err, engine.ErrBusy):
		w.Header().Set("Retry-After", "5")
		return s.actionFailure(w, r, http.StatusServiceUnavailable, engine.ErrBusy.Error())
	case err != nil:
		return err
	}
	keys := []string{strings.TrimSpace(key)}
	if v, err := s.eng.Status(r.Context()); err == nil && v.Record.LicenseKey != "" {
		keys = append(keys, v.Record.LicenseKey)
	}
	code, body := s.actionBody(res, keys...)
	writeJSON(w, code, body)
	return nil
}

func (s *Server) activate(w http.ResponseWriter, r *http.Request) error {
	var req api.ActivateRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	res, err := s.eng.Activate(r.Context(), req.LicenseKey)
	return s.action(w, r, req.LicenseKey, res, err)
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) error {
	if err := decode(w, r, &struct{}{}); err != nil {
		return err
	}
	res, err := s.eng.Heartbeat(r.Context())
	return s.action(w, r, "", res, err)
}

func (s *Server) switchDevice(w http.ResponseWriter, r *http.Request) error {
	var req api.SwitchRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	res, err := s.eng.RequestDeviceSwitch(r.Context(), strings.TrimSpace(req.NewMachineID), req.Reason)
	return s.action(w, r, "", res, err)
}

func (s *Server) clear(w http.ResponseWriter, r *http.Request) error {
	if err := decode(w, r, &struct{}{}); err != nil {
		return err
	}
	ev, err := s.eng.Clear(r.Context())
	if err != nil {
		return err
	}
	cfg := s.eng.Config()
	writeJSON(w, http.StatusOK, api.ActionResponse{Success: true, Status: string(ev.Status), GraceDays: days(cfg.Grace), TrustDays: days(cfg.Trust)})
	return nil
}

func quotaBody(a engine.QuotaAnswer) (int, api.QuotaResponse) {
	code := http.StatusOK
	if !a.Allowed {
		code = http.StatusForbidden
	}
	return code, api.QuotaResponse{
		Allowed: a.Allowed, Reason: a.Reason, Message: a.Message,
		Limits: api.Limits{Total: a.Limits.Total, Batch: a.Limits.Batch},
		Used:   a.Used, Policy: a.Policy, Replayed: a.Replayed,
	}
}

func (s *Server) quotaCheck(w http.ResponseWriter, r *http.Request) error {
	var req api.QuotaCheckRequest
	return s.quota(w, r, &req, func(ctx context.Context) (engine.QuotaAnswer, error) {
		return s.eng.CheckQuota(ctx, engine.QuotaRequest{Batch: req.Batch, Used: req.Used, Resource: req.Resource})
	})
}

func (s *Server) quotaConsume(w http.ResponseWriter, r *http.Request) error {
	var req api.QuotaConsumeRequest
	return s.quota(w, r, &req, func(ctx context.Context) (engine.QuotaAnswer, error) {
		return s.eng.ConsumeQuota(ctx, engine.QuotaRequest{Batch: req.Batch, Resource: req.Resource, IdempotencyKey: req.IdempotencyKey})
	})
}

// quota decodes a quota request into req, asks the engine and answers 200
// when allowed, 403 when refused.
func (s *Server) quota(w http.ResponseWriter, r *http.Request, req any, ask func(context.Context) (engine.QuotaAnswer, error)) error {
	if err := decode(w, r, req); err != nil {
		return err
	}
	a, err := ask(r.Context())
	if err != nil {
		return err
	}
	code, body := quotaBody(a)
	writeJSON(w, code, body)
	return nil
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	limit := 100
	if q := r.URL.Query().Get("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > 10000 {
			return badRequest("limit must be a whole number between 1 and 10000")
		}
		limit = n
	}
	evs, err := s.eng.Events(r.Context(), limit)
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []engine.Event{}
	}
	writeJSON(w, http.StatusOK, api.Events{Events: evs})
	return nil
}

func (s *Server) policyReload(w http.ResponseWriter, r *http.Request) error {
	if s.opt.Policies == nil {
		return &httpError{http.StatusConflict, "no_policy_dir", "no policy directory is configured (--policy-dir); the builtin policy is in force"}
	}
	if err := s.opt.Policies.Reload(r.Context()); err != nil {
		return &httpError{http.StatusUnprocessableEntity, "policy_refused", "policy reload refused, the previous policies stay in force: " + err.Error()}
	}
	writeJSON(w, http.StatusOK, api.Reloaded{Success: true})
	return nil
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) error {
	if v, err := s.eng.Status(r.Context()); err == nil {
		s.opt.Metrics.setStatus(v.Evaluation.Status)
	}
	s.opt.Metrics.handler.ServeHTTP(w, r)
	return nil
}
