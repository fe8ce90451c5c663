package signing

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Clock is the verifier's source of time (engine.Clock satisfies it).
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Defaults of VerifierConfig.
const (
	// DefaultMaxSkew is how far the signed server time may be from the
	// client's clock, either way.
	DefaultMaxSkew = 5 * time.Minute
	// DefaultMaxNonces bounds the nonces remembered (issued and used).
	DefaultMaxNonces = 4096
)

// VerifierConfig configures a Verifier. The zero value of every field but
// PublicKeys takes its default.
type VerifierConfig struct {
	// PublicKeys are the pinned server keys; an answer signed by any of them
	// is accepted (more than one only while rotating keys). Required.
	PublicKeys []ed25519.PublicKey
	// MaxSkew bounds |server time - client time| and how long an issued
	// nonce stays valid. Default DefaultMaxSkew.
	MaxSkew time.Duration
	// MaxNonces bounds the nonces remembered; the oldest are forgotten first.
	// Default DefaultMaxNonces.
	MaxNonces int
	// Clock defaults to the system clock.
	Clock Clock
	// Rand is the nonce source; default crypto/rand.
	Rand io.Reader
}

// Verifier checks signed answers on the client. It satisfies the remote
// client's ResponseVerifier hook:
//
//	NewNonce() (string, error)
//	Verify(path, machineID, nonce string, h http.Header, body []byte) error
//
// An answer is trusted only when its signature verifies under a pinned key
// over this request's path, machine id and nonce and the exact body, its
// signed time is within MaxSkew of the clock, and its nonce was issued by
// NewNonce, not longer than MaxSkew ago, and not used before: every nonce
// is single-use, so a recorded answer replayed later is rejected. Safe for
// concurrent use.
type Verifier struct {
	keys    []ed25519.PublicKey
	maxSkew time.Duration
	max     int
	clock   Clock
	rand    io.Reader

	mu     sync.Mutex
	issued map[string]time.Time // nonce → issued at, not yet used
	used   map[string]time.Time // nonce → used at
	order  []nonceEntry         // FIFO of issued and used nonces, for eviction
}

type nonceEntry struct {
	nonce string
	at    time.Time
}

// NewVerifier returns a Verifier; it errors when no valid key is pinned.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if len(cfg.PublicKeys) == 0 {
		return nil, fmt.Errorf("%w: no public key pinned", ErrInvalidKey)
	}
	for _, k := range cfg.PublicKeys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: public key of %d bytes", ErrInvalidKey, len(k))
		}
	}
	v := &Verifier{
		keys:    append([]ed25519.PublicKey(nil), cfg.PublicKeys...),
		maxSkew: cfg.MaxSkew,
		max:     cfg.MaxNonces,
		clock:   cfg.Clock,
		rand:    cfg.Rand,
		issued:  make(map[string]time.Time),
		used:    make(map[string]time.Time),
	}
	if v.maxSkew <= 0 {
		v.maxSkew = DefaultMaxSkew
	}
	if v.max <= 0 {
		v.max = DefaultMaxNonces
	}
	if v.clock == nil {
		v.clock = systemClock{}
	}
	if v.rand == nil {
		v.rand = rand.Reader
	}
	return v, nil
}

// NewNonce returns a fresh single-use nonce (16 random bytes, base64url) and
// remembers it as issued.
func (v *Verifier) NewNonce() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(v.rand, b[:]); err != nil {
		return "", fmt.Errorf("signing: nonce: %w", err)
	}
	n := base64.RawURLEncoding.EncodeToString(b[:])
	now := v.clock.Now()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.prune(now)
	v.issued[n] = now
	v.order = append(v.order, nonceEntry{n, now})
	v.evict()
	return n, nil
}

// Verify checks one answer; see Verifier. It returns nil or an error
// wrapping one of ErrMissingSignature, ErrMalformedSignature,
// ErrUnsupportedVersion, ErrBadInput, ErrUnknownNonce, ErrReplayed,
// ErrStale (a *StaleError) or ErrBadSignature. A nonce is consumed by the
// first Verify that names it, whatever the outcome.
func (v *Verifier) Verify(path, machineID, nonce string, h http.Header, body []byte) error {
	if path == "" || nonce == "" || !validField(path) || !validField(machineID) || !validField(nonce) {
		return ErrBadInput
	}
	now := v.clock.Now()
	if err := v.consume(nonce, now); err != nil {
		return err
	}
	vals := h.Values(HeaderSignature)
	if len(vals) == 0 || vals[0] == "" {
		return ErrMissingSignature
	}
	if len(vals) > 1 {
		return fmt.Errorf("%w: %d signature headers", ErrMalformedSignature, len(vals))
	}
	hd, err := parseHeader(vals[0])
	if err != nil {
		return err
	}
	if d := now.Sub(hd.t); d > v.maxSkew || d < -v.maxSkew {
		return &StaleError{SignedAt: hd.t, Now: now, MaxSkew: v.maxSkew}
	}
	msg := Message(path, machineID, nonce, hd.t, body)
	for _, k := range v.keys {
		if ed25519.Verify(k, msg, hd.sig) {
			return nil
		}
	}
	return ErrBadSignature
}

// consume moves nonce from issued to used.
func (v *Verifier) consume(nonce string, now time.Time) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.prune(now)
	if _, ok := v.used[nonce]; ok {
		return ErrReplayed
	}
	if _, ok := v.issued[nonce]; !ok {
		return ErrUnknownNonce
	}
	delete(v.issued, nonce)
	v.used[nonce] = now
	v.order = append(v.order, nonceEntry{nonce, now})
	v.evict()
	return nil
}

// prune forgets issued nonces older than maxSkew (their answers would be
// late anyway) and used nonces older than 2*maxSkew (a replay of their
// answer is then stale by its signed time). Caller holds mu.
func (v *Verifier) prune(now time.Time) {
	i := 0
	for ; i < len(v.order); i++ {
		e := v.order[i]
		if now.Sub(e.at) <= 2*v.maxSkew {
			break
		}
		v.forget(e)
	}
	if i > 0 {
		v.order = append(v.order[:0], v.order[i:]...)
	}
	// Issued nonces expire sooner; the map check is cheap and bounded.
	for n, at := range v.issued {
		if now.Sub(at) > v.maxSkew {
			delete(v.issued, n)
		}
	}
}

// evict drops the oldest entries beyond max. Caller holds mu.
func (v *Verifier) evict() {
	for len(v.issued)+len(v.used) > v.max && len(v.order) > 0 {
		v.forget(v.order[0])
		v.order = v.order[1:]
	}
}

// forget removes e from whichever map still holds it at that time.
func (v *Verifier) forget(e nonceEntry) {
	if at, ok := v.issued[e.nonce]; ok && at.Equal(e.at) {
		delete(v.issued, e.nonce)
	}
	if at, ok := v.used[e.nonce]; ok && at.Equal(e.at) {
		delete(v.used, e.nonce)
	}
}
