package engine

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Sentinel errors callers branch on.
var (
	// ErrNotFound: the store holds no record yet.
	ErrNotFound = errors.New("no license record")
	// ErrLocked: the data directory is in use by another process.
	ErrLocked = errors.New("data directory is locked by another process")
	// ErrCorrupt: the data directory exists but cannot be read as a store.
	ErrCorrupt = errors.New("data directory is corrupt")
	// ErrSchemaTooNew: the record was written by a newer licensehost.
	ErrSchemaTooNew = errors.New("record schema is newer than this build understands")
	// ErrInvalidKeyFormat: the license key is empty, too long or holds
	// control characters; refused before any network call.
	ErrInvalidKeyFormat = errors.New("Invalid license key format") //nolint:staticcheck // user-facing wording (docs/api.md)
	// ErrNoLicense: the operation needs a stored license key.
	ErrNoLicense = errors.New("no license key is stored")
	// ErrInvalidMachineID: a machine code is not server_ + 16 lowercase hex.
	ErrInvalidMachineID = errors.New("invalid machine code: want server_ followed by 16 lowercase hex characters")
	// ErrInvalidRequest: a request argument is out of range.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrBusy: another license server call held the operation slot until
	// the caller's deadline passed; try again shortly.
	ErrBusy = errors.New("another license server call is still running; try again shortly")
	// ErrClosed: the engine or store was closed.
	ErrClosed = errors.New("closed")
)

// RemoteError is a failed remote call: the structured remoteError of docs/api.md
// §7/§15 {httpStatus, data, message}, plus whether the server definitively
// rejected the request (4xx with success:false) or no trustworthy answer came
// back (network error, timeout, 5xx, unparseable body).
type RemoteError struct {
	HTTPStatus int             `json:"httpStatus"` // 0 when no HTTP answer arrived
	Data       json.RawMessage `json:"data"`       // the response body when it was JSON, else null
	Message    string          `json:"message"`
	Definitive bool            `json:"-"`
	Err        error           `json:"-"` // the underlying transport error, if any
}

func (e *RemoteError) Error() string {
	switch {
	case e.HTTPStatus != 0:
		return fmt.Sprintf("license server answered HTTP %d: %s", e.HTTPStatus, e.Message)
	case e.Err != nil:
		return fmt.Sprintf("license server unreachable: %s", e.Message)
	default:
		return "license server: " + e.Message
	}
}

func (e *RemoteError) Unwrap() error { return e.Err }

// AsRemoteError returns the *RemoteError in err's chain, if any.
func AsRemoteError(err error) (*RemoteError, bool) {
	var re *RemoteError
	ok := errors.As(err, &re)
	return re, ok
}
