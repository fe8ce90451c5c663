package wire

import (
	"errors"
	"strconv"
)

// Kinds of policy failure. Every error a policy backend returns from Decide
// wraps exactly one of them; the loader falls back to the built-in policy
// and names the kind (FallbackReason).
var (
	// ErrTimeout: the call ran past the policy's timeout and was stopped.
	ErrTimeout = errors.New("timeout")
	// ErrTrap: the WebAssembly guest trapped, exited or panicked.
	ErrTrap = errors.New("trap")
	// ErrCrash: the plugin process died or its connection broke.
	ErrCrash = errors.New("crash")
	// ErrBadOutput: the answer was missing, too large or malformed.
	ErrBadOutput = errors.New("bad_output")
	// ErrUnavailable: the policy cannot take calls now (closed, or a
	// crashed plugin waiting out its restart backoff).
	ErrUnavailable = errors.New("unavailable")
	// ErrCanceled: the caller's context ended before the policy answered.
	ErrCanceled = errors.New("canceled")
)

var kinds = []error{ErrTimeout, ErrTrap, ErrCrash, ErrBadOutput, ErrUnavailable, ErrCanceled}

// FallbackReason names the kind of a policy error: "timeout", "trap",
// "crash", "bad_output", "unavailable", "canceled", or "error".
func FallbackReason(err error) string {
	for _, k := range kinds {
		if errors.Is(err, k) {
			return k.Error()
		}
	}
	return "error"
}

// CallError is a failed policy call. Output holds what the guest wrote to
// stdout/stderr during the call, cut to a bounded size.
type CallError struct {
	Kind   error // one of the Err* kinds above
	Err    error // the underlying error, may be nil
	Output string
}

func (e *CallError) Error() string {
	s := e.Kind.Error()
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Output != "" {
		s += "; guest output: " + strconv.Quote(e.Output)
	}
	return s
}

// Unwrap returns the kind and the underlying error.
func (e *CallError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}
