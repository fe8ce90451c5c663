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

// Errors of the load-time bounds (docs/policy-abi.md §3).
var (
	// ErrTooLarge: the module file is larger than MaxModuleSize.
	ErrTooLarge = errors.New("module file too large")
	// ErrTables: a table has no maximum, or the tables may grow past
	// MaxTableEntries, or use a form other than WebAssembly 2.0's.
	ErrTables = errors.New("module tables not bounded")
	// ErrCompile: compiling took longer than the compile timeout or more
	// memory than CompileMemory.
	ErrCompile = errors.New("module compilation out of bounds")
)
