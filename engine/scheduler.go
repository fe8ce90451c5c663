package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Heartbeat window (docs/engine.md): a random minute between 03:00 and 05:00
// local time, once a day.
const (
	HeartbeatWindowStart = 3 * time.Hour
	HeartbeatWindowLen   = 2 * time.Hour
	// maxSleep bounds one wait, so a suspended machine or a clock change is
	// noticed within the hour instead of sleeping past the window.
	maxSleep = time.Hour
)

// DefaultRetryBackoff is the retry schedule after a failed heartbeat; the
// last step repeats until the next daily slot, which always wins.
var DefaultRetryBackoff = []time.Duration{5 * time.Minute, 15 * time.Minute, time.Hour, 4 * time.Hour}

// NextHeartbeat returns the next daily slot strictly after now: a random
// minute in [03:00, 05:00) of now's location, today if still ahead, else
// tomorrow. intn(n) must return a value in [0, n).
func NextHeartbeat(now time.Time, intn func(int) int) time.Time {
	minute := time.Duration(intn(int(HeartbeatWindowLen/time.Minute))) * time.Minute
	y, m, d := now.Date()
	slot := time.Date(y, m, d, 0, 0, 0, 0, now.Location()).Add(HeartbeatWindowStart + minute)
	if !slot.After(now) {
		// time.Date normalises day overflow; this stays right across DST.
		slot = time.Date(y, m, d+1, 0, 0, 0, 0, now.Location()).Add(HeartbeatWindowStart + minute)
	}
	return slot
}

// SchedulerOptions tunes RunHeartbeats; zero fields take defaults.
type SchedulerOptions struct {
	// After returns a channel that fires after d (time.After by default);
	// tests inject their own with a fake clock.
	After   func(d time.Duration) <-chan time.Time
	Intn    func(n int) int           // random source for the daily minute
	Backoff []time.Duration           // retry schedule after a failure
	OnRun   func(ActionResult, error) // called after every attempt (optional)
}

// RunHeartbeats runs the daily heartbeat until ctx is done, then returns
// ctx.Err(). A failed heartbeat is logged, recorded by Heartbeat itself, and
// retried with backoff before the next daily slot; nothing in it panics the
// process.
func (e *Engine) RunHeartbeats(ctx context.Context, o SchedulerOptions) error {
	if o.After == nil {
		o.After = time.After
	}
	if o.Intn == nil {
		o.Intn = rand.IntN
	}
	if len(o.Backoff) == 0 {
		o.Backoff = DefaultRetryBackoff
	}
	next := NextHeartbeat(e.now(), o.Intn)
	failures := 0
	e.log.Info("heartbeat scheduled", "at", next.Format(time.RFC3339))
	for {
		wait := min(max(next.Sub(e.now()), 0), maxSleep)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-o.After(wait):
		}
		if e.now().Before(next) {
			continue
		}
		res, err := e.safeHeartbeat(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if o.OnRun != nil {
			o.OnRun(res, err)
		}
		now := e.now()
		daily := NextHeartbeat(now, o.Intn)
		switch {
		case errors.Is(err, ErrNoLicense) || (err == nil && res.Success):
			failures = 0
			next = daily
		default:
			failures++
			retry := now.Add(o.Backoff[min(failures, len(o.Backoff))-1])
			next = daily
			if retry.Before(daily) {
				next = retry
			}
			e.log.Warn("heartbeat failed; will retry", "failures", failures, "retryAt", next.Format(time.RFC3339), "err", errOrMessage(res, err))
		}
	}
}

// safeHeartbeat runs one heartbeat and turns a panic into an error.
func (e *Engine) safeHeartbeat(ctx context.Context) (res ActionResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("heartbeat panicked: %v", r)
		}
	}()
	return e.Heartbeat(ctx)
}

func errOrMessage(res ActionResult, err error) string {
	if err != nil {
		return err.Error()
	}
	return res.Message
}
