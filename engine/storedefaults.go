package engine

import "time"

// Default bounds of what a Store retains. The in-memory store
// (enginetest.MemStore) and the Badger store (storage) share them.
const (
	// DefaultEventLogCap is how many events the log keeps; older ones are
	// trimmed.
	DefaultEventLogCap = 1000
	// DefaultIdempotencyKeep is how many idempotency keys are retained.
	DefaultIdempotencyKeep = 10000
	// DefaultIdempotencyTTL is how long an idempotency key is retained.
	DefaultIdempotencyTTL = 24 * time.Hour
)

// StoreLimits bounds what a Store retains. A zero (or negative) field means
// the matching Default* constant.
type StoreLimits struct {
	// EventLogCap is the number of events kept; the oldest are trimmed.
	EventLogCap int
	// IdempotencyKeep is the number of idempotency keys guaranteed to be
	// retained: the newest IdempotencyKeep keys always replay (unless older
	// than IdempotencyTTL). A store may trim lazily, in batches, but never
	// holds more than 2×IdempotencyKeep keys.
	IdempotencyKeep int
	// IdempotencyTTL is how long a key replays, measured with
	// ConsumeRequest.Now. A key older than that is forgotten: a request
	// carrying it again is decided and counted afresh.
	IdempotencyTTL time.Duration
}

// WithDefaults returns l with every unset field set to its default.
func (l StoreLimits) WithDefaults() StoreLimits {
	if l.EventLogCap <= 0 {
		l.EventLogCap = DefaultEventLogCap
	}
	if l.IdempotencyKeep <= 0 {
		l.IdempotencyKeep = DefaultIdempotencyKeep
	}
	if l.IdempotencyTTL <= 0 {
		l.IdempotencyTTL = DefaultIdempotencyTTL
	}
	return l
}
