package engine

import (
	"strconv"
	"strings"
	"time"
)

// Reasons an evaluation is not plainly active.
const (
	ReasonNoLicense      = "no_license"        // community: no key stored
	ReasonNeverVerified  = "never_verified"    // pending: the key has not verified yet
	ReasonTrustLapsed    = "trust_lapsed"      // grace: no verification for longer than trust
	ReasonRemoteFailing  = "remote_failing"    // grace: a failure streak is running
	ReasonTooManyFailure = "too_many_failures" // grace_limited
	ReasonGraceOver      = "grace_over"        // expired: grace ran out
	ReasonLicenseExpired = "license_expired"   // expired: the license's own expiresAt passed
	ReasonMachineChanged = "machine_changed"   // expired: the record is another machine's
	ReasonSwitchedAway   = "switched_away"     // switching: this machine handed its license on
	ReasonSwitchDone     = "switch_window_over"
)

// Evaluation is the outcome of the state machine of docs/engine.md.
type Evaluation struct {
	Status      Status
	IsSponsored bool
	Reason      string // "" when active
	// Now is the effective time used: the clock, or the persisted high-water
	// mark when the clock has been turned back.
	Now         time.Time
	ClockBehind bool      // the clock reads earlier than the high-water mark
	TrustEndsAt time.Time // zero when not applicable
	GraceStart  time.Time // zero when not in grace
	GraceEndsAt time.Time // zero when not in grace
	GraceLeft   time.Duration
	Limits      Limits
	// LapsedAt is when sponsorship ended, for status expired with reason
	// grace_over (the end of grace) or license_expired (the license's
	// expiresAt); zero otherwise. Feature grants of the online license
	// report it as their expiry (docs/features.md).
	LapsedAt time.Time
}

// GraceDaysLeft is GraceLeft in fractional days.
func (e Evaluation) GraceDaysLeft() float64 { return e.GraceLeft.Hours() / 24 }

// EffectiveNow is the time the state machine computes with: the clock, unless
// it reads earlier than the persisted high-water mark, so a clock turned back
// never extends trust or grace.
func EffectiveNow(now, highWater time.Time) time.Time {
	if now.Before(highWater) {
		return highWater
	}
	return now
}

// Evaluate is the state machine of docs/engine.md as a pure function of the record, the
// configuration, the current machine code and the clock reading.
//
// With cfg.AllowOfflineTrust=false there is no trust window: time offline is
// never free. The deadline is then the last successful verification plus
// grace: the status is active while the last remote call succeeded, grace
// while a failure streak runs, and expired past the deadline either way.
func Evaluate(rec Record, cfg Config, machineID string, now time.Time) Evaluation {
	eff := EffectiveNow(now, rec.ClockHighWater)
	ev := Evaluation{Now: eff, ClockBehind: now.Before(rec.ClockHighWater)}
	community := func(st Status, reason string) Evaluation {
		ev.Status, ev.Reason, ev.IsSponsored = st, reason, false
		ev.Limits = Limits{Total: Int64(cfg.CommunityTotal), Batch: Int64(cfg.CommunityBatch)}
		return ev
	}
	license := func(st Status, reason string) Evaluation {
		ev.Status, ev.Reason, ev.IsSponsored = st, reason, true
		ev.Limits = Limits{Total: copyInt(rec.LimitTotal), Batch: copyInt(rec.LimitBatch)}
		if st == StatusGraceLimited {
			if ev.Limits.Batch == nil || *ev.Limits.Batch > cfg.GraceLimitedBatch {
				ev.Limits.Batch = Int64(cfg.GraceLimitedBatch)
			}
		}
		return ev
	}

	if rec.Tampered != "" {
		return community(StatusTampered, ReasonTampered)
	}
	if !rec.HasLicense() {
		return community(StatusCommunity, ReasonNoLicense)
	}
	if rec.SwitchedToMachineID != "" {
		if eff.Before(addDur(rec.DeviceSwitchRequestedAt, cfg.SwitchWindow)) {
			return license(StatusSwitching, ReasonSwitchedAway)
		}
		return community(StatusCommunity, ReasonSwitchDone)
	}
	if rec.MachineID != "" && machineID != "" && rec.MachineID != machineID {
		return community(StatusExpired, ReasonMachineChanged)
	}
	if rec.RemoteVerifiedAt.IsZero() {
		return community(StatusPending, ReasonNeverVerified)
	}
	if !rec.ExpiresAt.IsZero() && !eff.Before(rec.ExpiresAt) {
		ev.LapsedAt = rec.ExpiresAt
		return community(StatusExpired, ReasonLicenseExpired)
	}

	S := rec.RemoteVerifiedAt
	streak := rec.ConsecutiveFailures > 0
	var graceStart time.Time
	reason := ReasonRemoteFailing
	if cfg.AllowOfflineTrust {
		ev.TrustEndsAt = addDur(S, cfg.Trust)
		switch {
		case streak:
			// Grace runs from the first failure, but never from later than
			// the end of trust: a host that was off past trust and fails
			// at its next start gets no fresh grace (docs/engine.md).
			graceStart = rec.FirstFailureAt
			switch {
			case graceStart.IsZero(): // a streak without its start: be strict
				graceStart = S
			case graceStart.After(ev.TrustEndsAt):
				graceStart = ev.TrustEndsAt
			}
		case eff.Before(ev.TrustEndsAt):
			return license(StatusActive, "")
		default:
			graceStart, reason = ev.TrustEndsAt, ReasonTrustLapsed
		}
	} else {
		graceStart = S
		if !streak {
			if eff.Before(addDur(S, cfg.Grace)) {
				ev.TrustEndsAt = addDur(S, cfg.Grace)
				return license(StatusActive, "")
			}
			reason = ReasonTrustLapsed
		}
	}

	ev.GraceStart = graceStart
	ev.GraceEndsAt = addDur(graceStart, cfg.Grace)
	if !eff.Before(ev.GraceEndsAt) {
		ev.LapsedAt = ev.GraceEndsAt
		ev.GraceStart, ev.GraceEndsAt = time.Time{}, time.Time{}
		return community(StatusExpired, ReasonGraceOver)
	}
	ev.GraceLeft = ev.GraceEndsAt.Sub(eff)
	if rec.ConsecutiveFailures >= cfg.MaxFailures {
		return license(StatusGraceLimited, ReasonTooManyFailure)
	}
	return license(StatusGrace, reason)
}

func addDur(t time.Time, d time.Duration) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Add(d)
}

func copyInt(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// ParseLimit reads a customField quota: an integer, possibly quoted, with
// surrounding spaces; empty, missing, negative or non-numeric means
// unlimited (nil), as docs/engine.md (Quotas) says for empty.
func ParseLimit(s string) *int64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// "500.0" from a number-typed field: accept a whole float.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) {
			return nil
		}
		n = int64(f)
	}
	if n < 0 {
		return nil
	}
	return &n
}
