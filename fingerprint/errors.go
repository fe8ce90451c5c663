package fingerprint

import "errors"

// Sentinel errors callers branch on.
var (
	// ErrInvalidOverride: the explicit machine code given through
	// Options.Override or LICENSEHOST_MACHINE_ID is not "server_" followed
	// by 16 lowercase hex characters. Compute wraps it with the offending
	// value and where it came from.
	ErrInvalidOverride = errors.New("invalid machine code override: want server_ followed by 16 lowercase hex characters")
)
