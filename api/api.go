// Package api holds the wire types of the host's local HTTP API
// (docs/api.md), its routes (Operations) and its OpenAPI document
// (openapi.json, generated from both by api/openapigen). The daemon encodes
// them, the CLI, the tray and any Go caller decode them; other languages
// read docs/api.md or /openapi.json.
// Besides the standard library it imports only engine, for the domain types
// the API carries (Limits) and nothing heavy.
package api

import (
	"encoding/json"
	"time"

	"github.com/licensehost/licensehost/engine"
)

// Defaults shared by the daemon and its clients.
const (
	// DefaultListen is the daemon's default address: loopback only.
	DefaultListen = "127.0.0.1:7474"
	// TokenFileName is the admin token file's name inside the data directory.
	TokenFileName = "admin.token"
	// AppTokenFileName is the optional read-only app token file's name.
	AppTokenFileName = "app.token"
	// MaxBodyBytes caps every request body.
	MaxBodyBytes = 1 << 20
)

// Routes of the local API.
const (
	PathActivate     = "/api/sponsor/activate"
	PathStatus       = "/api/sponsor/status"
	PathHeartbeat    = "/api/sponsor/heartbeat"
	PathClear        = "/api/sponsor/clear"
	PathSwitchDevice = "/api/sponsor/device-switch-request"
	PathMachineID    = "/api/sponsor/machine-id"
	PathQuotaCheck   = "/api/quota/check"
	PathQuotaConsume = "/api/quota/consume"
	PathEvents       = "/api/events"
	PathPolicyReload = "/api/policy/reload"
	PathPolicy       = "/api/policy"
	PathHealthz      = "/healthz"
	PathMetrics      = "/metrics"
	PathOpenAPI      = "/openapi.json"
	// PathSession signs a browser in (POST), describes its session (GET)
	// and signs it out (DELETE): docs/web.md.
	PathSession = "/api/session"
	// PathSessionLink makes a one-time sign-in link for the page (admin;
	// licensehost web --link).
	PathSessionLink = "/api/session/link"
)

// Web admin page sessions (docs/web.md).
const (
	// SessionCookie is the HttpOnly cookie a signed-in browser sends.
	SessionCookie = "licensehost_session"
	// CSRFHeader carries the session's CSRF token on every state-changing
	// request authenticated by the cookie.
	CSRFHeader = "X-CSRF-Token"
)

// Limits are quota limits (engine.Limits: one declaration for the engine,
// this API and the policies' input); nil means unlimited.
type Limits = engine.Limits

// Usage is the host-kept usage counter.
type Usage struct {
	Total int64 `json:"total"`
}

// LastRefresh is the feedback of the last remote call.
type LastRefresh struct {
	Kind       string    `json:"kind,omitempty" openapi:"enum=activate|heartbeat|switch"`
	Success    bool      `json:"success"`
	HTTPStatus int       `json:"httpStatus,omitempty"` // 0: no HTTP answer (network error)
	Message    string    `json:"message,omitempty"`
	At         time.Time `json:"at"`
}

// Status is the body of GET /api/sponsor/status. It is computed locally and
// never calls the remote server.
type Status struct {
	MachineID      string          `json:"machineId"`
	Edition        string          `json:"edition"`    // last_license_type_name, or "community"
	LicenseKey     string          `json:"licenseKey"` // masked: first 4 and last 4 characters, "" when none
	Status         string          `json:"status" openapi:"enum=community|pending|active|grace|grace_limited|expired|switching|tampered"`
	IsSponsored    bool            `json:"isSponsored"`
	Reason         string          `json:"reason,omitempty"`        // why not active, when it is not
	Message        string          `json:"message,omitempty"`       // the reason in words, when it needs them (tampered: what disagrees)
	Notes          []string        `json:"notes,omitempty"`         // warnings about the setup: plain http:// license server, no pinned server key
	GraceDaysLeft  *float64        `json:"graceDaysLeft,omitempty"` // present while in grace
	GraceEndsAt    *time.Time      `json:"graceEndsAt,omitempty"`
	TrustEndsAt    *time.Time      `json:"trustEndsAt,omitempty"`
	ExpiresAt      *time.Time      `json:"expiresAt,omitempty"` // the license's own expiry
	Limits         Limits          `json:"limits"`
	Usage          Usage           `json:"usage"`
	LastRefresh    *LastRefresh    `json:"lastRefresh"`
	License        json.RawMessage `json:"license" openapi:"object"` // the license server's license object as received (docs/remote.md), the license key inside masked; null when none
	TrustDays      float64         `json:"trustDays"`
	GraceDays      float64         `json:"graceDays"`
	Failures       int             `json:"consecutiveFailures"`
	SwitchedTo     string          `json:"switchedTo,omitempty"` // while switching: the new machine code
	Policy         string          `json:"policy"`               // the policy deciding quotas for this license type
	RemoteVerified *time.Time      `json:"remoteVerifiedAt,omitempty"`
	// Features lists every known feature (docs/features.md); absent
	// without a product file and grants.
	Features []Feature `json:"features,omitempty"`
	// Preauth is the pre-authorization; absent when the product has none.
	Preauth *Preauth `json:"preauth,omitempty"`
}

// RemoteError is the structured remote error of docs/api.md.
type RemoteError struct {
	HTTPStatus int             `json:"httpStatus"` // 0 when no HTTP answer arrived
	Data       json.RawMessage `json:"data"`       // any JSON value
	Message    string          `json:"message"`
}

// Fallback tells what the installation falls back to after a failure.
type Fallback struct {
	IsSponsored bool   `json:"isSponsored"`
	Status      string `json:"status" openapi:"enum=community|pending|active|grace|grace_limited|expired|switching|tampered"`
}

// ActionResponse is the body of activate, heartbeat, device-switch-request
// and clear (docs/api.md). On success: Success, Status, License, GraceDays,
// TrustDays. On failure additionally Message, RemoteError (when the remote was
// involved), Fallback, and Definitive (the server rejected the key, as opposed
// to no trustworthy answer arriving).
type ActionResponse struct {
	Success     bool            `json:"success"`
	Status      string          `json:"status" openapi:"enum=community|pending|active|grace|grace_limited|expired|switching|tampered"`
	License     json.RawMessage `json:"license,omitempty" openapi:"object"` // the license server's license object as received (docs/remote.md), the license key inside masked
	Message     string          `json:"message,omitempty"`
	RemoteError *RemoteError    `json:"remoteError,omitempty"`
	Fallback    *Fallback       `json:"fallback,omitempty"`
	Definitive  bool            `json:"definitive,omitempty"`
	GraceDays   float64         `json:"graceDays"`
	TrustDays   float64         `json:"trustDays"`
}

// ActivateRequest is the body of POST /api/sponsor/activate.
type ActivateRequest struct {
	LicenseKey string `json:"licenseKey"`
}

// SwitchRequest is the body of POST /api/sponsor/device-switch-request.
type SwitchRequest struct {
	NewMachineID string `json:"newMachineId"`
	Reason       string `json:"reason" openapi:"optional"`
}

// MachineID is the body of GET /api/sponsor/machine-id.
type MachineID struct {
	MachineID string `json:"machineId" openapi:"pattern=^server_[0-9a-f]{16}$"`
}

// QuotaCheckRequest is the body of POST /api/quota/check. Used, when absent,
// is taken from the host's usage counter.
type QuotaCheckRequest struct {
	Batch    int64  `json:"batch"`
	Used     *int64 `json:"used,omitempty"`
	Resource string `json:"resource,omitempty"`
}

// QuotaConsumeRequest is the body of POST /api/quota/consume.
type QuotaConsumeRequest struct {
	Batch          int64  `json:"batch"`
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	Resource       string `json:"resource,omitempty"`
}

// QuotaResponse answers check and consume: 200 when allowed, 403 when refused.
type QuotaResponse struct {
	Allowed  bool   `json:"allowed"`
	Reason   string `json:"reason"`
	Message  string `json:"message,omitempty"`
	Limits   Limits `json:"limits"`
	Used     int64  `json:"used"` // for consume: the counter after the call
	Policy   string `json:"policy"`
	Replayed bool   `json:"replayed,omitempty"` // consume: idempotency key seen before
}

// Error is the body of every other failure (bad JSON, 401, 404, 405, 500).
type Error struct {
	Success bool   `json:"success" openapi:"enum=false"` // always false
	Error   string `json:"error"`                        // a short code: bad_request, unauthorized, not_found, method_not_allowed, internal
	Message string `json:"message"`
}

// SessionRequest is the body of POST /api/session: the admin token, the
// read-only app token, or the code of a one-time sign-in link (exactly one).
type SessionRequest struct {
	Token string `json:"token,omitempty"`
	Code  string `json:"code,omitempty"`
}

// SessionLink is the answer of POST /api/session/link: the page's address
// followed by "#signin=" and Code signs a browser in as admin, once, until
// ExpiresAt.
type SessionLink struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Session is the answer of POST and GET /api/session. Role is "admin" or
// "app" when signed in; CSRFToken must be sent back in the X-CSRF-Token
// header on every state-changing request made with the cookie.
type Session struct {
	SignedIn  bool       `json:"signedIn"`
	Role      string     `json:"role,omitempty" openapi:"enum=admin|app"`
	CSRFToken string     `json:"csrfToken,omitempty"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// PolicyRoute is one routing rule of the quota policies in force (GET
// /api/policy): which license types a module decides for.
type PolicyRoute struct {
	Match  string `json:"match"`            // license type name, glob, or "default"
	Policy string `json:"policy"`           // e.g. "wasm:tiered", "plugin:grace", "builtin"
	Kind   string `json:"kind,omitempty"`   // "wasm", "plugin", or "" for the built-in
	Path   string `json:"path,omitempty"`   // as in the manifest
	SHA256 string `json:"sha256,omitempty"` // of the loaded module
}

// PolicyStats counts a policy's decisions since the daemon started.
type PolicyStats struct {
	Policy    string            `json:"policy"`
	Decisions uint64            `json:"decisions"` // answered by the policy itself
	Fallbacks map[string]uint64 `json:"fallbacks"` // answered by the built-in policy instead, by reason
}

// Policies is the body of GET /api/policy.
type Policies struct {
	Configured bool          `json:"configured"` // a --policy-dir is set
	Routes     []PolicyRoute `json:"routes"`
	Stats      []PolicyStats `json:"stats"`
}

// Health is the body of GET /healthz: ok, or starting (503) until the
// daemon is ready.
type Health struct {
	Status string `json:"status" openapi:"enum=ok|starting"`
}

// Event is one entry of the event log (engine.Event: its one declaration).
type Event = engine.Event

// Events is the body of GET /api/events, newest first.
type Events struct {
	Events []Event `json:"events"`
}

// Reloaded is the body of a successful POST /api/policy/reload.
type Reloaded struct {
	Success bool `json:"success"`
}

// Deleted is the body of a successful POST /api/activation/delete (fields
// in the order the server has always written them).
type Deleted struct {
	Deleted bool   `json:"deleted"`
	Serial  string `json:"serial"`
	Success bool   `json:"success"`
}
