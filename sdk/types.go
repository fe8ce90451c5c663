package sdk

import "time"

// ABIVersion is the version of the policy ABI this SDK implements: the byte
// layout of Input and Output and the exports of a WebAssembly policy. It is
// also the go-plugin protocol version. A host refuses a module whose
// policy_abi_version differs from the versions it knows.
const ABIVersion = 1

// The license statuses a policy can see in Input.Status (docs/engine.md, "States").
const (
	StatusCommunity    = "community"
	StatusPending      = "pending"
	StatusActive       = "active"
	StatusGrace        = "grace"
	StatusGraceLimited = "grace_limited"
	StatusExpired      = "expired"
	StatusSwitching    = "switching"
)

// Reason codes of the built-in policy. A policy may answer other codes; keep
// them short, lowercase and stable, callers branch on them.
const (
	ReasonOK            = "ok"
	ReasonBatchExceeded = "batch_exceeded"
	ReasonTotalExceeded = "total_exceeded"
	ReasonInvalidBatch  = "invalid_batch"
)

// Limit is one quota limit. The zero Limit is unlimited.
type Limit struct {
	N       int64 // the limit, meaningful only when Limited
	Limited bool  // false means unlimited
}

// Unlimited returns an unlimited Limit.
func Unlimited() Limit { return Limit{} }

// Max returns the Limit n.
func Max(n int64) Limit { return Limit{N: n, Limited: true} }

// Min returns the stricter of l and m.
func (l Limit) Min(m Limit) Limit {
	switch {
	case !l.Limited:
		return m
	case !m.Limited:
		return l
	case m.N < l.N:
		return m
	}
	return l
}

// Limits are the total and per-request (batch) quota limits.
type Limits struct {
	Total Limit
	Batch Limit
}

// Input is everything a policy may base its decision on. Guests get no clock:
// Now is the host's time, as data.
type Input struct {
	LicenseType  string // the license type name; "" for community
	Status       string // one of the Status* constants
	IsSponsored  bool
	Limits       Limits // the limits the host resolved (license, community or grace-limited)
	CustomField1 string // raw total quota field of the license
	CustomField2 string // raw batch quota field of the license
	CustomField3 string
	Used         int64 // items that already exist
	Batch        int64 // items requested now
	Resource     string
	GraceLeft    time.Duration // time left in grace; 0 outside grace
	Features     []string
	Now          time.Time // zero when the host sent none
}

// Output is a policy's answer.
type Output struct {
	Allowed bool
	Limits  Limits // the effective limits applied
	Reason  string // a reason code; "" is read as "ok" when allowed
	Message string // a human-readable explanation
}

// Decider is the one function a policy author writes.
type Decider func(Input) Output

// DeciderInto is the form of Decider that WebAssembly guests run fastest:
// it reads *in and writes its answer into *out, so neither is copied (in Go
// compiled to WebAssembly, each copy or zeroing of a struct is a call out to
// the runtime's memmove). *out holds a zero Output on entry; in, and the
// strings and slices it holds, must not be modified or kept.
type DeciderInto func(in *Input, out *Output)
