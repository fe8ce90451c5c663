package engine_test

import (
	"testing"

	"github.com/licensehost/licensehost/engine"
)

// Grace never restarts: a streak that starts after trust ended counts grace
// from the end of trust (issue 12, defect 2; docs/engine.md).
func TestGraceCountsFromTrustEndAtTheLatest(t *testing.T) {
	cfg := engine.DefaultConfig() // trust 7, grace 15
	for _, c := range []struct {
		name      string
		F, now    float64 // days after S
		status    engine.Status
		graceLeft float64
	}{
		{"failure within trust", 3, 3, engine.StatusGrace, 15},
		{"failure at day 10", 10, 10, engine.StatusGrace, 12},
		{"off 40 days, fails at start", 40, 40, engine.StatusExpired, 0},
		{"off 21.9 days", 21.9, 21.9, engine.StatusGrace, 0.1},
	} {
		rec := withStreak(verified(t0), 1, t0.Add(day(c.F)))
		ev := engine.Evaluate(rec, cfg, thisMachine, t0.Add(day(c.now)))
		if ev.Status != c.status || ev.GraceDaysLeft() < c.graceLeft-0.001 || ev.GraceDaysLeft() > c.graceLeft+0.001 {
			t.Errorf("%s: %s with %.3f days left, want %s with %.3f", c.name, ev.Status, ev.GraceDaysLeft(), c.status, c.graceLeft)
		}
	}
}

func TestSameLicenseKey(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"LK-AAAA", "LK-AAAA", true},
		{"lk-aaaa", "LK-AAAA", true},
		{"LK-AAAA", "LK-AAAB", false},
		{"", "LK-AAAA", false},
	} {
		if got := engine.SameLicenseKey(c.a, c.b); got != c.same {
			t.Errorf("SameLicenseKey(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
