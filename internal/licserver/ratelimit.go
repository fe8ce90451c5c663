package licserver

import (
	"math"
	"sync"
	"time"
)

// Rate is a token bucket: Burst tokens, refilled at one token per Every.
// The zero Rate (Burst 0) means unlimited.
type Rate struct {
	Burst int           `json:"burst"`
	Every time.Duration `json:"every"`
}

// limiter holds one token bucket per license key. State is in memory: a
// restart refills every bucket (see docs/licensed.md).
type limiter struct {
	rate Rate

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets triggers pruning of full (idle) buckets.
const maxBuckets = 10000

func newLimiter(r Rate) *limiter {
	return &limiter{rate: r, buckets: make(map[string]*bucket)}
}

// allow takes one token for key at now. When none is left it returns false
// and how long until one is.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l.rate.Burst <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{tokens: float64(l.rate.Burst), last: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	if l.rate.Every <= 0 {
		return false, 0
	}
	wait := time.Duration(math.Ceil((1 - b.tokens) * float64(l.rate.Every)))
	return false, wait
}

func (l *limiter) refill(b *bucket, now time.Time) {
	if now.After(b.last) && l.rate.Every > 0 {
		b.tokens = min(float64(l.rate.Burst), b.tokens+float64(now.Sub(b.last))/float64(l.rate.Every))
	}
	// A clock that went back never adds tokens, and last only moves forward.
	if now.After(b.last) {
		b.last = now
	}
}

// prune drops buckets that have refilled completely: forgetting them
// changes nothing. Caller holds mu.
func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= float64(l.rate.Burst) {
			delete(l.buckets, k)
		}
	}
}
