package engine_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
)

const (
	thisMachine  = "server_0123456789abcdef"
	otherMachine = "server_fedcba9876543210"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func day(n float64) time.Duration { return time.Duration(n * float64(24*time.Hour)) }

// verified is a record that verified successfully at S.
func verified(S time.Time) engine.Record {
	return engine.Record{
		SchemaVersion: engine.SchemaVersion, LicenseKey: "LK-0000-1111-2222", MachineID: thisMachine,
		RemoteVerifiedAt: S, LastLicenseTypeName: "年度版",
		LimitTotal: engine.Int64(500), LimitBatch: engine.Int64(100),
	}
}

func withStreak(r engine.Record, n int, F time.Time) engine.Record {
	r.ConsecutiveFailures, r.FirstFailureAt = n, F
	return r
}

// TestEvaluateTable walks every row of the states table in docs/engine.md.
func TestEvaluateTable(t *testing.T) {
	cfg := engine.DefaultConfig()
	noTrust := cfg
	noTrust.AllowOfflineTrust = false

	expiring := verified(t0)
	expiring.ExpiresAt = t0.Add(day(3))

	switched := verified(t0)
	switched.SwitchedToMachineID, switched.DeviceSwitchRequestedAt = otherMachine, t0

	pending := engine.Record{LicenseKey: "LK-0000-1111-2222", MachineID: thisMachine, ConsecutiveFailures: 1, FirstFailureAt: t0}

	clockBack := verified(t0)
	clockBack.ClockHighWater = t0.Add(day(30))

	tests := []struct {
		name      string
		rec       engine.Record
		cfg       engine.Config
		now       time.Time
		status    engine.Status
		sponsored bool
		reason    string
		graceEnd  time.Time // zero: not in grace
		batch     *int64    // nil: unlimited
		total     *int64
	}{
		{"community: no key", engine.Record{}, cfg, t0, engine.StatusCommunity, false, engine.ReasonNoLicense, time.Time{}, engine.Int64(20), engine.Int64(200)},
		{"pending: never verified", pending, cfg, t0.Add(time.Hour), engine.StatusPending, false, engine.ReasonNeverVerified, time.Time{}, engine.Int64(20), engine.Int64(200)},
		{"active: just verified", verified(t0), cfg, t0, engine.StatusActive, true, "", time.Time{}, engine.Int64(100), engine.Int64(500)},
		{"active: one second before trust ends", verified(t0), cfg, t0.Add(day(7) - time.Second), engine.StatusActive, true, "", time.Time{}, engine.Int64(100), engine.Int64(500)},
		{"grace: trust lapsed, no streak", verified(t0), cfg, t0.Add(day(7)), engine.StatusGrace, true, engine.ReasonTrustLapsed, t0.Add(day(22)), engine.Int64(100), engine.Int64(500)},
		{"grace: failure streak inside trust", withStreak(verified(t0), 1, t0.Add(day(1))), cfg, t0.Add(day(2)), engine.StatusGrace, true, engine.ReasonRemoteFailing, t0.Add(day(16)), engine.Int64(100), engine.Int64(500)},
		{"grace: streak of max-1", withStreak(verified(t0), 9, t0.Add(day(1))), cfg, t0.Add(day(10)), engine.StatusGrace, true, engine.ReasonRemoteFailing, t0.Add(day(16)), engine.Int64(100), engine.Int64(500)},
		{"grace_limited: streak of max", withStreak(verified(t0), 10, t0.Add(day(1))), cfg, t0.Add(day(10)), engine.StatusGraceLimited, true, engine.ReasonTooManyFailure, t0.Add(day(16)), engine.Int64(20), engine.Int64(500)},
		{"expired: grace over after streak", withStreak(verified(t0), 3, t0.Add(day(1))), cfg, t0.Add(day(16)), engine.StatusExpired, false, engine.ReasonGraceOver, time.Time{}, engine.Int64(20), engine.Int64(200)},
		{"expired: grace over after trust lapse", verified(t0), cfg, t0.Add(day(22)), engine.StatusExpired, false, engine.ReasonGraceOver, time.Time{}, engine.Int64(20), engine.Int64(200)},
		{"expired: license expiresAt passed", expiring, cfg, t0.Add(day(3)), engine.StatusExpired, false, engine.ReasonLicenseExpired, time.Time{}, engine.Int64(20), engine.Int64(200)},
		{"active: before license expiresAt", expiring, cfg, t0.Add(day(3) - time.Second), engine.StatusActive, true, "", time.Time{}, engine.Int64(100), engine.Int64(500)},
		{"switching: inside the window", switched, cfg, t0.Add(23 * time.Hour), engine.StatusSwitching, true, engine.ReasonSwitchedAway, time.Time{}, engine.Int64(100), engine.Int64(500)},
		{"community: switch window over", switched, cfg, t0.Add(24 * time.Hour), engine.StatusCommunity, false, engine.ReasonSwitchDone, time.Time{}, engine.Int64(20), engine.Int64(200)},
		{"no offline trust: active right after success", verified(t0), noTrust, t0.Add(day(9)), engine.StatusActive, true, "", time.Time{}, engine.Int64(100), engine.Int64(500)},
		{"no offline trust: failure starts grace at once, counted from S", withStreak(verified(t0), 1, t0.Add(day(1))), noTrust, t0.Add(day(1)), engine.StatusGrace, true, engine.ReasonRemoteFailing, t0.Add(day(15)), engine.Int64(100), engine.Int64(500)},
		{"no offline trust: expired grace after S", verified(t0), noTrust, t0.Add(day(15)), engine.StatusExpired, false, engine.ReasonGraceOver, time.Time{}, engine.Int64(20), engine.Int64(200)},
		{"clock turned back: high-water mark rules", clockBack, cfg, t0.Add(day(1)), engine.StatusExpired, false, engine.ReasonGraceOver, time.Time{}, engine.Int64(20), engine.Int64(200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := engine.Evaluate(tt.rec, tt.cfg, thisMachine, tt.now)
			if ev.Status != tt.status || ev.IsSponsored != tt.sponsored || ev.Reason != tt.reason {
				t.Fatalf("got %s sponsored=%v reason=%q, want %s sponsored=%v reason=%q", ev.Status, ev.IsSponsored, ev.Reason, tt.status, tt.sponsored, tt.reason)
			}
			if !ev.GraceEndsAt.Equal(tt.graceEnd) {
				t.Errorf("graceEndsAt = %v, want %v", ev.GraceEndsAt, tt.graceEnd)
			}
			if !tt.graceEnd.IsZero() && ev.GraceLeft != tt.graceEnd.Sub(ev.Now) {
				t.Errorf("graceLeft = %v, want %v", ev.GraceLeft, tt.graceEnd.Sub(ev.Now))
			}
			if !eqInt(ev.Limits.Batch, tt.batch) || !eqInt(ev.Limits.Total, tt.total) {
				t.Errorf("limits = %s/%s, want %s/%s", show(ev.Limits.Total), show(ev.Limits.Batch), show(tt.total), show(tt.batch))
			}
		})
	}
}

func TestEvaluateMachineChanged(t *testing.T) {
	ev := engine.Evaluate(verified(t0), engine.DefaultConfig(), otherMachine, t0)
	if ev.Status != engine.StatusExpired || ev.Reason != engine.ReasonMachineChanged || ev.IsSponsored {
		t.Fatalf("got %s/%s sponsored=%v, want expired/machine_changed", ev.Status, ev.Reason, ev.IsSponsored)
	}
}

func TestEvaluateUnlimitedLicense(t *testing.T) {
	rec := verified(t0)
	rec.LimitTotal, rec.LimitBatch = nil, nil
	ev := engine.Evaluate(rec, engine.DefaultConfig(), thisMachine, t0)
	if ev.Limits.Total != nil || ev.Limits.Batch != nil {
		t.Fatalf("limits = %s/%s, want unlimited", show(ev.Limits.Total), show(ev.Limits.Batch))
	}
	// grace_limited caps even an unlimited batch.
	ev = engine.Evaluate(withStreak(rec, 10, t0), engine.DefaultConfig(), thisMachine, t0.Add(day(1)))
	if ev.Status != engine.StatusGraceLimited || !eqInt(ev.Limits.Batch, engine.Int64(20)) || ev.Limits.Total != nil {
		t.Fatalf("got %s %s/%s, want grace_limited with batch 20 and unlimited total", ev.Status, show(ev.Limits.Total), show(ev.Limits.Batch))
	}
}

// A clock turned back never extends trust or grace: walking the clock back
// from any point gives the same or a worse state than the high-water mark.
func TestEvaluateClockBackNeverExtends(t *testing.T) {
	cfg := engine.DefaultConfig()
	rank := map[engine.Status]int{engine.StatusActive: 0, engine.StatusGrace: 1, engine.StatusGraceLimited: 2, engine.StatusExpired: 3}
	rec := withStreak(verified(t0), 2, t0.Add(day(8)))
	for hw := 0.0; hw < 30; hw += 0.5 {
		r := rec
		r.ClockHighWater = t0.Add(day(hw))
		at := engine.Evaluate(r, cfg, thisMachine, r.ClockHighWater)
		for back := 0.0; back <= hw; back += 0.5 {
			ev := engine.Evaluate(r, cfg, thisMachine, t0.Add(day(back)))
			if rank[ev.Status] < rank[at.Status] || ev.GraceLeft > at.GraceLeft {
				t.Fatalf("hw=%v back=%v: %s (left %v) is better than %s (left %v) at the high-water mark", hw, back, ev.Status, ev.GraceLeft, at.Status, at.GraceLeft)
			}
		}
	}
}

func TestGraceCountsDown(t *testing.T) {
	rec := withStreak(verified(t0), 1, t0.Add(day(1)))
	prev := engine.Evaluate(rec, engine.DefaultConfig(), thisMachine, t0.Add(day(1)))
	for h := 1; h < 24*15; h++ {
		ev := engine.Evaluate(rec, engine.DefaultConfig(), thisMachine, t0.Add(day(1)+time.Duration(h)*time.Hour))
		if ev.Status != engine.StatusGrace || ev.GraceLeft >= prev.GraceLeft {
			t.Fatalf("hour %d: %s left %v, previous %v", h, ev.Status, ev.GraceLeft, prev.GraceLeft)
		}
		prev = ev
	}
	if got := prev.GraceDaysLeft(); got <= 0 || got > 1 {
		t.Fatalf("graceDaysLeft at the end = %v, want within (0, 1]", got)
	}
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]*int64{
		"500": engine.Int64(500), " 42 ": engine.Int64(42), "0": engine.Int64(0), "500.0": engine.Int64(500),
		"": nil, "  ": nil, "abc": nil, "-1": nil, "1.5": nil, "99999999999999999999": nil,
	} {
		if got := engine.ParseLimit(in); !eqInt(got, want) {
			t.Errorf("ParseLimit(%q) = %s, want %s", in, show(got), show(want))
		}
	}
}

func eqInt(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func show(p *int64) string {
	if p == nil {
		return "unlimited"
	}
	return strconv.FormatInt(*p, 10)
}
