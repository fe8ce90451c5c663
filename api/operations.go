package api

import "net/http"

// Operation declares one route of the local API for its OpenAPI document:
// the document's paths come from Operations and its schemas from the Go
// types named here (api/openapi.json is generated from both; see
// docs/CONTRIBUTING.md, "An API field").
type Operation struct {
	Method, Path, Summary string
	// Public routes need no token (security: []).
	Public bool
	// Request is a value of the JSON body's type, nil for a route that
	// takes none; RequestOptional when the body may be left out.
	Request         any
	RequestOptional bool
	// RequestMedia is the body's media type when it is not JSON (the
	// body is then a plain string).
	RequestMedia string
	// Query lists the query parameters.
	Query []Param
	// Responses lists the answers besides the Error of every other
	// failure (ErrorsDoc), which every route has unless NoErrors.
	Responses []Response
	NoErrors  bool
}

// Param is an integer query parameter within [Min, Max].
type Param struct {
	Name     string
	Min, Max float64
}

// Response is one answer of an operation: Bodies holds a value of each type
// the body may have (one of them), or none for a body that is not JSON,
// whose Media then says what it is.
type Response struct {
	Status      int
	Description string
	Bodies      []any
	Media       string
}

// ErrorsDoc describes the Error answers every route may give.
const ErrorsDoc = "an error: bad input or a bad activation file (400), refused activation file (403: untrusted_key, wrong_machine, already_uninstalled, expired, issued_in_future), not installed (404), not uninstallable / in force (409), bad JSON body (400), no or a wrong token (401), the app token on an admin route or a cookie request without its CSRF token (403), no such route (404), wrong method (405), body over 1 MiB (413), busy or cancelled (503), internal (500)"

func ok(description string, body any) []Response {
	return []Response{{Status: http.StatusOK, Description: description, Bodies: []any{body}}}
}

// actionResponses are the answers of activate, heartbeat, clear and
// device-switch-request.
var actionResponses = []Response{
	{http.StatusOK, "success", []any{ActionResponse{}}, ""},
	{http.StatusBadRequest, "bad input, refused before any remote call (e.g. Invalid license key format); or a bad JSON body (Error)", []any{ActionResponse{}, Error{}}, ""},
	{http.StatusConflict, "no license key is stored", []any{ActionResponse{}}, ""},
	{http.StatusUnprocessableEntity, "the license server rejected the request (remoteError carries its status and message)", []any{ActionResponse{}}, ""},
	{http.StatusBadGateway, "no trustworthy answer from the license server (down, timeout, 5xx, garbage)", []any{ActionResponse{}}, ""},
}

func quotaResponses() []Response {
	return []Response{
		{http.StatusOK, "allowed", []any{QuotaResponse{}}, ""},
		{http.StatusForbidden, "refused (reason says why); or, with the web session cookie, no or a wrong X-CSRF-Token (an Error with error csrf)", []any{QuotaResponse{}, Error{}}, ""},
	}
}

// Operations are the routes of the local API. internal/server serves
// exactly these (TestOpenAPIMatchesRoutes); /metrics only with metrics on.
var Operations = []Operation{
	{Method: http.MethodGet, Path: PathHealthz, Summary: "Liveness and readiness; no token needed", Public: true, NoErrors: true,
		Responses: []Response{{http.StatusOK, "ready", []any{Health{}}, ""}, {http.StatusServiceUnavailable, "starting", []any{Health{}}, ""}}},
	{Method: http.MethodGet, Path: PathOpenAPI, Summary: "This document",
		Responses: ok("the OpenAPI document", map[string]any{})},
	{Method: http.MethodGet, Path: PathStatus, Summary: "Local license status; never calls the license server",
		Responses: ok("status", Status{})},
	{Method: http.MethodGet, Path: PathMachineID, Summary: "This machine's code",
		Responses: ok("machine code", MachineID{})},
	{Method: http.MethodPost, Path: PathActivate, Summary: "Verify a license key with the license server and store it",
		Request: ActivateRequest{}, Responses: actionResponses},
	{Method: http.MethodPost, Path: PathHeartbeat, Summary: "Re-verify the stored key now (manual refresh)",
		Responses: actionResponses},
	{Method: http.MethodPost, Path: PathClear, Summary: "Delete the stored license; back to community",
		Responses: actionResponses},
	{Method: http.MethodPost, Path: PathSwitchDevice, Summary: "Move the license to another machine code",
		Request: SwitchRequest{}, Responses: actionResponses},
	{Method: http.MethodPost, Path: PathQuotaCheck, Summary: "May batch more items be created now? (writes nothing)",
		Request: QuotaCheckRequest{}, Responses: quotaResponses()},
	{Method: http.MethodPost, Path: PathQuotaConsume, Summary: "Atomically check and count batch items; durable before it answers",
		Request: QuotaConsumeRequest{}, Responses: quotaResponses()},
	{Method: http.MethodGet, Path: PathEvents, Summary: "The event log, newest first",
		Query: []Param{{Name: "limit", Min: 1, Max: 10000}}, Responses: ok("events", Events{})},
	{Method: http.MethodGet, Path: PathPolicy, Summary: "The quota policies in force: routing rules (license type to module) and decisions since start (docs/web.md)",
		Responses: ok("policies", Policies{})},
	{Method: http.MethodPost, Path: PathPolicyReload, Summary: "Reload the policy directory; a bad module is refused and the previous policies stay",
		Responses: ok("reloaded", Reloaded{})},
	{Method: http.MethodGet, Path: PathFeatures, Summary: "Every known feature with its license status, and the pre-authorization (app token allowed)",
		Responses: ok("features", FeaturesResponse{})},
	{Method: http.MethodPost, Path: PathFeatureCheck, Summary: "May this feature be used for new work now? Run it where the work is created (app token allowed)",
		Request: FeatureCheckRequest{}, Responses: []Response{
			{http.StatusOK, "allowed", []any{FeatureCheckResponse{}}, ""},
			{http.StatusForbidden, "refused; reason says why", []any{FeatureCheckResponse{}}, ""},
		}},
	{Method: http.MethodPost, Path: PathActivationRequest, Summary: "Write a request file for offline activation (signed by the installation key)",
		Request: ActivationRequestBody{}, RequestOptional: true, Responses: ok("the request file", ActivationFileAnswer{})},
	{Method: http.MethodPost, Path: PathActivationInstall, Summary: "Install an activation file; the body is the file itself (at most 64 KiB)",
		RequestMedia: "text/plain", Responses: ok("installed (already: it was before)", InstallAnswer{})},
	{Method: http.MethodPost, Path: PathActivationUninstall, Summary: "Uninstall a formal, uninstallable license in force; answers the uninstall receipt",
		Request: SerialBody{}, Responses: ok("the receipt", ActivationFileAnswer{})},
	{Method: http.MethodPost, Path: PathActivationReceipt, Summary: "The uninstall receipt of a serial uninstalled here, again",
		Request: SerialBody{}, Responses: ok("the receipt", ActivationFileAnswer{})},
	{Method: http.MethodPost, Path: PathActivationDelete, Summary: "Delete an expired or untrusted activation file",
		Request: SerialBody{}, Responses: ok("deleted", Deleted{})},
	{Method: http.MethodGet, Path: PathBackup, Summary: "A consistent backup of the whole local state (docs/backup.md); restore it with licensehost restore",
		Responses: []Response{{Status: http.StatusOK, Description: "the backup (gzip'd tar)", Media: "application/gzip"}}},
	{Method: http.MethodGet, Path: PathActivations, Summary: "Installed activation files, the installation key and the trusted kids",
		Responses: ok("installed files", Activations{})},
	{Method: http.MethodPost, Path: PathSessionLink, Summary: "A one-time sign-in link for the web admin page: <page>#signin=<code> signs a browser in as admin once, within 5 minutes (licensehost web --link; docs/web.md)",
		Responses: ok("the link's code", SessionLink{})},
	{Method: http.MethodPost, Path: PathSession, Summary: "Sign a browser in with the admin or app token, or a one-time link's code. Sets the HttpOnly, SameSite=Strict licensehost_session cookie (Secure over TLS). docs/web.md",
		Public: true, Request: SessionRequest{}, Responses: ok("signed in", Session{})},
	{Method: http.MethodGet, Path: PathSession, Summary: "The cookie's session and its CSRF token, or signedIn false",
		Public: true, Responses: ok("session", Session{})},
	{Method: http.MethodDelete, Path: PathSession, Summary: "Sign out (needs X-CSRF-Token with a live session)",
		Public: true, Responses: ok("signed out", Session{})},
	{Method: http.MethodGet, Path: PathMetrics, Summary: "Prometheus metrics (text format); served only with metrics on",
		Responses: []Response{{Status: http.StatusOK, Description: "metrics", Media: "text/plain"}}},
}
