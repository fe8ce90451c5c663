package signing

import (
	"errors"
	"fmt"
	"time"
)

// Sentinels returned (wrapped) by Verifier.Verify. Every one of them means
// "do not trust this answer"; callers branch on them only to word the error.
var (
	// ErrMissingSignature: the answer carries no signature header.
	ErrMissingSignature = errors.New("signing: answer is not signed")
	// ErrMalformedSignature: the header cannot be parsed.
	ErrMalformedSignature = errors.New("signing: malformed signature header")
	// ErrUnsupportedVersion: the header's scheme is not v1.
	ErrUnsupportedVersion = errors.New("signing: unsupported signature version")
	// ErrBadSignature: the signature does not verify under the pinned key
	// (forged, tampered body, wrong key, or signed for another request).
	ErrBadSignature = errors.New("signing: signature does not verify")
	// ErrReplayed: the nonce was already used by an earlier answer.
	ErrReplayed = errors.New("signing: replayed answer (nonce already used)")
	// ErrUnknownNonce: the nonce was not issued by this verifier, or was
	// issued too long ago and forgotten.
	ErrUnknownNonce = errors.New("signing: unknown or expired nonce")
	// ErrBadInput: path, machine id or nonce is empty or holds a newline or
	// other control character, so the canonical message would be ambiguous.
	ErrBadInput = errors.New("signing: invalid path, machine id or nonce")
	// ErrInvalidKey: a key cannot be decoded or has the wrong size.
	ErrInvalidKey = errors.New("signing: invalid key")
)

// StaleError is returned when the answer's signed time is further from the
// verifier's clock than the allowed skew. It matches ErrStale with errors.Is.
type StaleError struct {
	SignedAt time.Time
	Now      time.Time
	MaxSkew  time.Duration
}

// ErrStale matches any *StaleError.
var ErrStale = errors.New("signing: stale answer")

func (e *StaleError) Error() string {
	return fmt.Sprintf("signing: stale answer: signed at %s, now %s (max skew %s)",
		e.SignedAt.UTC().Format(time.RFC3339), e.Now.UTC().Format(time.RFC3339), e.MaxSkew)
}

// Is makes errors.Is(err, ErrStale) true.
func (e *StaleError) Is(target error) bool { return target == ErrStale }
