package licserver

import "errors"

// Errors of the admin operations (Admin). The admin HTTP API maps them to
// status codes and the admin client maps the codes back.
var (
	// ErrNoSuchKey: no license with that key (404).
	ErrNoSuchKey = errors.New("no such license key")
	// ErrNoSuchType: no license type with that name (404).
	ErrNoSuchType = errors.New("no such license type")
	// ErrNoSuchDevice: the machine is not bound to the license (404).
	ErrNoSuchDevice = errors.New("machine is not bound to this license")
	// ErrTypeExists: a license type with that name exists (409).
	ErrTypeExists = errors.New("license type already exists")
	// ErrRevokedFinal: a revoked license cannot be resumed or suspended (409).
	ErrRevokedFinal = errors.New("license is revoked; revocation is final")
	// ErrInvalid: a malformed admin request (400).
	ErrInvalid = errors.New("invalid request")
	// ErrUnauthorized: missing or wrong admin token (401).
	ErrUnauthorized = errors.New("missing or wrong admin token")
	// ErrAlreadyInitialized: init found an existing signing key.
	ErrAlreadyInitialized = errors.New("data directory is already initialized")
	// ErrRefused: the license may not be bound now (suspended, revoked,
	// expired, device, use or churn limit): 403, or 429 for the churn
	// limit. The message carries the contract's message and details code.
	ErrRefused = errors.New("refused")
	// ErrNoSuchActivation: no activation file with that serial (404).
	ErrNoSuchActivation = errors.New("no such activation file")
	// ErrNotInitialized: the data directory has no signing key; run init.
	ErrNotInitialized = errors.New("data directory is not initialized (run `licensed init`)")
)
