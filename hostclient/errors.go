package hostclient

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/internal/hostdir"
)

// Sentinels callers branch on with errors.Is.
var (
	// ErrHostNotRunning: nothing listens at the host's address (connection
	// refused). The error returned is a *NotRunningError saying how to start it.
	ErrHostNotRunning = errors.New("licensehost is not running")
	// ErrUnauthorized: the daemon answered 401, the token is missing or wrong.
	ErrUnauthorized = errors.New("unauthorized: missing or wrong token")
	// ErrForbidden: the daemon answered 403 on a non-quota route, e.g. a
	// read-only app token used on an admin route.
	ErrForbidden = errors.New("forbidden: this token may not call this route")
	// ErrBadRequest: an action was refused before any remote call (400): bad
	// license key format or bad machine code.
	ErrBadRequest = errors.New("bad request")
	// ErrRejected: the license server definitively rejected the request (422).
	ErrRejected = errors.New("rejected by the license server")
	// ErrNoAnswer: no trustworthy answer from the license server (502): it is
	// down, timed out or answered 5xx.
	ErrNoAnswer = errors.New("no trustworthy answer from the license server")
	// ErrNoLicense: a heartbeat or device switch was asked while no license
	// key is stored (409).
	ErrNoLicense = errors.New("no license key is stored")
	// ErrResponseTooLarge: the daemon's answer exceeded MaxResponseBytes.
	ErrResponseTooLarge = errors.New("response too large")
	// ErrTokenFileInsecure: the token file is readable by its group or others.
	ErrTokenFileInsecure = hostdir.ErrTokenFileInsecure
	// ErrEmptyToken: the token file is empty.
	ErrEmptyToken = hostdir.ErrEmptyToken
)

// NotRunningError is returned when the connection to the host is refused. It
// matches ErrHostNotRunning and unwraps to the network error too.
type NotRunningError struct {
	BaseURL string
	Err     error
}

func (e *NotRunningError) Error() string {
	return fmt.Sprintf("licensehost is not running at %s: start it with `licensehost` (or `make run` in a source checkout)", e.BaseURL)
}

// Unwrap gives both ErrHostNotRunning and the network error.
func (e *NotRunningError) Unwrap() []error { return []error{ErrHostNotRunning, e.Err} }

// APIError is a failure answered with an api.Error body (401, 403, 404, 405,
// 500, bad JSON…). A 401 matches ErrUnauthorized, a 403 ErrForbidden.
type APIError struct {
	StatusCode int
	Body       api.Error // zero when the body was not an api.Error
	// Challenge is the WWW-Authenticate header of a 401, if any.
	Challenge string
}

func (e *APIError) Error() string {
	msg := e.Body.Message
	if msg == "" {
		msg = e.Body.Error
	}
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return "licensehost refused the token (401 " + msg + "): check the token file (" + api.TokenFileName + " in the host's data directory)"
	case http.StatusForbidden:
		return "licensehost refused this call for this token (403 " + msg + ")"
	}
	return fmt.Sprintf("licensehost answered %d: %s", e.StatusCode, msg)
}

// Is matches ErrUnauthorized for 401 and ErrForbidden for 403.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	}
	return false
}

// ActionError is a failed activate, heartbeat, device switch or clear: the
// daemon answered 400, 409, 422 or 502 with an api.ActionResponse, which
// carries the remote details (remoteError, fallback, definitive) for display.
// It matches ErrBadRequest (400), ErrNoLicense (409), ErrRejected (422) or
// ErrNoAnswer (502).
type ActionError struct {
	Action     string // "activate", "heartbeat", "device-switch", "clear"
	StatusCode int
	Response   *api.ActionResponse
}

func (e *ActionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed (%d)", e.Action, e.StatusCode)
	if e.Response != nil {
		if e.Response.Message != "" {
			b.WriteString(": " + e.Response.Message)
		}
		if re := e.Response.RemoteError; re != nil {
			if re.HTTPStatus != 0 {
				fmt.Fprintf(&b, " (license server: %d", re.HTTPStatus)
			} else {
				b.WriteString(" (license server: no answer")
			}
			if re.Message != "" && re.Message != e.Response.Message {
				b.WriteString(" " + re.Message)
			}
			b.WriteString(")")
		}
	}
	return b.String()
}

// Is matches ErrBadRequest, ErrRejected or ErrNoAnswer by status code; a
// Definitive response also matches ErrRejected whatever the status.
func (e *ActionError) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest
	case ErrRejected:
		return e.StatusCode == http.StatusUnprocessableEntity || (e.Response != nil && e.Response.Definitive)
	case ErrNoAnswer:
		return e.StatusCode == http.StatusBadGateway
	case ErrNoLicense:
		return e.StatusCode == http.StatusConflict
	}
	return false
}

// RemoteStatus is the license server's HTTP status in the answer, 0 when none
// arrived.
func (e *ActionError) RemoteStatus() int {
	if e.Response == nil || e.Response.RemoteError == nil {
		return 0
	}
	return e.Response.RemoteError.HTTPStatus
}

// ResponseError is an answer the client could not make sense of: wrong
// content, an undecodable body, or an unexpected status.
type ResponseError struct {
	StatusCode int
	Snippet    string // the start of the body, for diagnostics
	Err        error
}

func (e *ResponseError) Error() string {
	s := fmt.Sprintf("unexpected answer from licensehost (HTTP %d)", e.StatusCode)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Snippet != "" {
		s += ": " + e.Snippet
	}
	return s
}

func (e *ResponseError) Unwrap() error { return e.Err }
