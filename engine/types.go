package engine

import (
	"context"
	"encoding/json"
	"time"

	"github.com/licensehost/licensehost/internal/licapi"
)

// SchemaVersion is the version of Record this build writes. A store that finds
// a newer version refuses to open (ErrSchemaTooNew) rather than misread it.
const SchemaVersion = 1

// Status is the evaluated license state of an installation (docs/engine.md).
type Status string

// The statuses of docs/engine.md.
const (
	StatusCommunity    Status = "community"
	StatusPending      Status = "pending"
	StatusActive       Status = "active"
	StatusGrace        Status = "grace"
	StatusGraceLimited Status = "grace_limited"
	StatusExpired      Status = "expired"
	StatusSwitching    Status = "switching"
	// StatusTampered: the stored record disagrees with its seal or with the
	// signed answer it was derived from (docs/reliability.md).
	StatusTampered Status = "tampered"
)

// Sponsored reports whether the status grants the licensed edition.
func (s Status) Sponsored() bool {
	switch s {
	case StatusActive, StatusGrace, StatusGraceLimited, StatusSwitching:
		return true
	}
	return false
}

// Clock is the only source of time for the engine.
type Clock interface{ Now() time.Time }

// Record is the one local license record of an installation (docs/storage.md). The zero
// Record (no license key) means community edition.
type Record struct {
	SchemaVersion int `json:"schemaVersion"`

	LicenseKey        string `json:"licenseKey,omitempty"`
	MachineID         string `json:"machineId,omitempty"`
	VerificationToken string `json:"verificationToken,omitempty"`
	// Status is the status last evaluated and stored; informational only,
	// the live status is always recomputed by Evaluate.
	Status Status `json:"status,omitempty"`

	RemoteVerifiedAt time.Time `json:"remoteVerifiedAt,omitzero"` // S: last successful verification
	LocalVerifiedAt  time.Time `json:"localVerifiedAt,omitzero"`  // last local evaluation written

	LastRemoteErrorMessage    string    `json:"lastRemoteErrorMessage,omitempty"`
	LastRemoteErrorHTTPStatus int       `json:"lastRemoteErrorHttpStatus,omitempty"`
	LastRemoteErrorTime       time.Time `json:"lastRemoteErrorTime,omitzero"`

	LastLicenseTypeName string `json:"lastLicenseTypeName,omitempty"`
	LimitTotal          *int64 `json:"limitTotal,omitempty"` // customField1; nil = unlimited
	LimitBatch          *int64 `json:"limitBatch,omitempty"` // customField2; nil = unlimited

	ConsecutiveFailures int       `json:"consecutiveFailures,omitempty"` // n
	FirstFailureAt      time.Time `json:"firstFailureAt,omitzero"`       // F: start of the current streak

	DeviceSwitchRequestedAt time.Time `json:"deviceSwitchRequestedAt,omitzero"`
	OldMachineID            string    `json:"oldMachineId,omitempty"`
	SwitchedToMachineID     string    `json:"switchedToMachineId,omitempty"`

	License   json.RawMessage `json:"license,omitempty"` // the raw remote license object, as received
	ExpiresAt time.Time       `json:"expiresAt,omitzero"`

	// ClockHighWater is the latest time this installation has seen. It
	// survives Clear so a clock turned back never extends trust or grace.
	ClockHighWater time.Time `json:"clockHighWater,omitzero"`

	// Signals are the fingerprint signals at the last successful
	// verification, kept so a changed machine code can be explained.
	Signals map[string]string `json:"signals,omitempty"`

	LastRefresh Refresh `json:"lastRefresh,omitzero"`

	// LicenseProof is the signed answer the license fields come from, kept
	// verbatim when a server key is pinned; VerifyProof is the latest
	// successful verification's signed answer when that one carried no
	// license object (nil otherwise). At every load the engine re-derives
	// the license fields and the verification time from them
	// (docs/reliability.md).
	LicenseProof *Proof `json:"licenseProof,omitempty"`
	VerifyProof  *Proof `json:"verifyProof,omitempty"`
	// Tampered says why this record was found to disagree with its seal or
	// its proofs. It stays until a successful verification or a clear.
	Tampered string `json:"tampered,omitempty"`
	// Seal is the record's MAC under the installation secret (hex
	// HMAC-SHA256 over the record's JSON without Seal); "" without one.
	Seal string `json:"seal,omitempty"`
}

// Proof is a signed license server answer, verbatim: what it answered
// (HTTP status and body bytes) and everything its signature covers.
type Proof struct {
	Path       string `json:"path"`
	MachineID  string `json:"machineId"`
	Nonce      string `json:"nonce"`
	Signature  string `json:"signature"` // the X-Licensehost-Signature header's value
	HTTPStatus int    `json:"httpStatus"`
	Body       []byte `json:"body"`
}

// ProvenAnswer is what a Proof says: its signed time and the answer parsed
// from its body.
type ProvenAnswer struct {
	SignedAt time.Time
	Result   RemoteResult
}

// ProofChecker re-checks a stored Proof against the pinned server keys
// (internal/remote implements it).
type ProofChecker interface {
	CheckProof(p Proof) (ProvenAnswer, error)
}

// HasLicense reports whether a license key is stored.
func (r Record) HasLicense() bool { return r.LicenseKey != "" }

// Refresh is the feedback of the last remote call (activation, heartbeat or
// switch), shown to users as "last refresh".
type Refresh struct {
	Kind       string    `json:"kind,omitempty"` // activate | heartbeat | switch
	Success    bool      `json:"success"`
	HTTPStatus int       `json:"httpStatus,omitempty"`
	Message    string    `json:"message,omitempty"`
	At         time.Time `json:"at,omitzero"`
}

// EventKind names what an Event records.
type EventKind string

// Event kinds written by the engine.
const (
	EventActivated      EventKind = "activation_ok"
	EventActivateFailed EventKind = "activation_failed"
	EventHeartbeatOK    EventKind = "heartbeat_ok"
	EventHeartbeatFail  EventKind = "heartbeat_failed"
	EventQuotaRefused   EventKind = "quota_refused"
	EventCleared        EventKind = "cleared"
	EventSwitched       EventKind = "device_switched"
	EventSwitchFailed   EventKind = "device_switch_failed"
	EventClockBack      EventKind = "clock_turned_back"
	EventTampered       EventKind = "record_tampered"
)

// Event is one entry of the append-only event log.
type Event struct {
	Seq     uint64    `json:"seq"` // assigned by the store, increasing
	At      time.Time `json:"at"`
	Kind    EventKind `json:"kind"`
	Message string    `json:"message,omitempty"` // never holds a full license key or token
}

// ConsumeRequest asks a Store to atomically add N to a usage counter.
type ConsumeRequest struct {
	Counter        string // usage counter name; "" is the default counter
	N              int64  // items to add, > 0
	IdempotencyKey string // optional; a key seen before returns the first answer
	Now            time.Time
}

// ConsumeFunc decides, given the counter's current value, whether to admit
// the request. It returns the answer to store under the idempotency key and
// whether to add N. It may be called more than once (transaction retry) and
// must have no side effects.
type ConsumeFunc func(used int64) (answer []byte, admit bool, err error)

// ConsumeResult is what Store.Consume returns.
type ConsumeResult struct {
	Answer   []byte // from ConsumeFunc, or the stored first answer on replay
	Used     int64  // counter value after the call
	Admitted bool
	Replayed bool // the idempotency key was seen before; nothing was counted
}

// Store keeps the record, usage counters and event log durably. Every method
// that writes returns only after the write is durable (fsync).
type Store interface {
	// Load returns the record; ErrNotFound when none was ever written.
	Load(ctx context.Context) (Record, error)
	// Update applies fn to the current record (a zero Record with the current
	// SchemaVersion when none exists) and writes it together with the events
	// fn returns, in one durable transaction. If fn errors nothing is written
	// and the error is returned unchanged.
	Update(ctx context.Context, fn func(*Record) ([]Event, error)) error
	// Consume atomically reads a counter, asks decide, and adds N when it
	// admits; concurrent calls never over-admit. With an idempotency key seen
	// before (and still retained) it returns the first answer with
	// Replayed=true and counts nothing.
	Consume(ctx context.Context, req ConsumeRequest, decide ConsumeFunc) (ConsumeResult, error)
	// RecordGeneration returns the record's write generation, for a reader
	// that keeps a decoded record (the engine, docs/engine.md): a number
	// that changes with every Update — after its write commits, before
	// Update returns — and with nothing else. A record loaded after
	// reading generation g is therefore current for as long as the
	// generation still reads g. The store must be the only writer of its
	// record while open (Badger locks its directory).
	RecordGeneration(ctx context.Context) (uint64, error)
	// Usage returns a counter's current value (0 when never used).
	Usage(ctx context.Context, counter string) (int64, error)
	// AppendEvent durably appends one event outside any record update.
	AppendEvent(ctx context.Context, ev Event) error
	// Events returns up to limit events, newest first.
	Events(ctx context.Context, limit int) ([]Event, error)
	Close() error
}

// RemoteResult is a trustworthy answer of the remote server: either it
// accepted (Success) or it definitively rejected the request.
type RemoteResult struct {
	Success    bool
	HTTPStatus int
	Message    string
	Details    json.RawMessage // "details" as received, may be nil
	License    *licapi.License // nil when the answer carried none
	Token      string
	Body       json.RawMessage // the whole response body (bounded), for remoteError.data
	// ServerTime is the server's clock when it answered: the signed time of
	// a signed answer, else its HTTP Date header; zero when it sent none.
	// The engine uses it only to tell a clock turned back from a high-water
	// mark left by a clock once set ahead (docs/engine.md).
	ServerTime time.Time
	// Proof is the signed answer verbatim, set when the client checked a
	// signature (a pinned server key); nil otherwise.
	Proof *Proof
}

// RemoteClient talks to the license server over the fixed contract. A nil
// error means a trustworthy answer (accepted or definitively rejected); an
// error (usually *RemoteError with Definitive=false) means no trustworthy
// answer: network error, timeout, 5xx, unparseable body.
type RemoteClient interface {
	Verify(ctx context.Context, req licapi.VerifyRequest) (RemoteResult, error)
	SwitchDevice(ctx context.Context, req licapi.SwitchRequest) (RemoteResult, error)
}

// Limits are quota limits; nil means unlimited.
type Limits struct {
	Total *int64 `json:"total"` // items in all; null means unlimited
	Batch *int64 `json:"batch"` // items in one batch; null means unlimited
}

// QuotaInput is everything a policy may base a decision on. Guests get no
// clock: Now is data.
type QuotaInput struct {
	LicenseType  string        `json:"licenseType"` // last_license_type_name, "" for community
	Status       Status        `json:"status"`
	IsSponsored  bool          `json:"isSponsored"`
	Limits       Limits        `json:"limits"` // the license's parsed limits (customField1/2), or community limits
	CustomField1 string        `json:"customField1,omitempty"`
	CustomField2 string        `json:"customField2,omitempty"`
	CustomField3 string        `json:"customField3,omitempty"`
	Used         int64         `json:"used"`
	Batch        int64         `json:"batch"`
	Resource     string        `json:"resource,omitempty"`
	GraceLeft    time.Duration `json:"graceLeft"`
	Features     []string      `json:"features,omitempty"`
	Now          time.Time     `json:"now"`
}

// Reason codes of quota decisions.
const (
	ReasonOK            = "ok"
	ReasonBatchExceeded = "batch_exceeded"
	ReasonTotalExceeded = "total_exceeded"
	ReasonInvalidBatch  = "invalid_batch"
)

// QuotaDecision is a policy's answer.
type QuotaDecision struct {
	Allowed bool   `json:"allowed"`
	Limits  Limits `json:"limits"` // the effective limits applied
	Reason  string `json:"reason"` // a reason code (ReasonOK, ReasonBatchExceeded, …)
	Message string `json:"message,omitempty"`
	Policy  string `json:"policy"` // the name of the policy that decided
}

// Policy decides quota requests. The builtin policy, Wasm modules and
// go-plugin binaries all implement it.
type Policy interface {
	Decide(ctx context.Context, in QuotaInput) (QuotaDecision, error)
	Close(ctx context.Context) error
}
