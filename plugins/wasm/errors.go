package wasm

import "errors"

// Errors of loading a module. Load wraps one of them, with the details.
var (
	// ErrHashMismatch: the module's sha256 differs from the one configured.
	ErrHashMismatch = errors.New("module sha256 does not match the manifest")
	// ErrABIVersion: the module's policy_abi_version is not one this host knows.
	ErrABIVersion = errors.New("unsupported policy ABI version")
	// ErrExports: a required export is missing or has the wrong signature.
	ErrExports = errors.New("module does not export the policy ABI")
	// ErrConfig: the configuration is invalid.
	ErrConfig = errors.New("invalid wasm policy configuration")
)
