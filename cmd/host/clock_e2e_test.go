package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/licensehost/licensehost/internal/e2etest"
	"github.com/licensehost/licensehost/internal/remotetest"
)

// The clock tests run a daemon built with the licensehost_testclock tag,
// whose clock is the system clock plus the duration in a file
// (clock_testclock.go), so they can turn the clock across restarts.

var clockBin e2etest.Lazy

func testClockBinary(t *testing.T) string {
	t.Helper()
	return clockBin.Get(t, filepath.Dir(hostBin), "licensehost-testclock", ".", "-tags", "licensehost_testclock")
}

// activeShifted starts the test-clock daemon (trust 7 days, grace 15)
// against srv in a new data directory and activates e2eKey.
func activeShifted(t *testing.T, srv *remotetest.Server) (*shiftedHost, *host) {
	t.Helper()
	clk := newShiftedClock(t)
	h := clk.start(t, t.TempDir(), fast(srv, "7", "15")...)
	h.mustActivate(e2eKey)
	return clk, h
}

// shiftedHost starts the test-clock daemon; shift sets its clock offset.
type shiftedHost struct {
	file string
	bin  string
}

func newShiftedClock(t *testing.T) *shiftedHost {
	s := &shiftedHost{file: filepath.Join(t.TempDir(), "clock"), bin: testClockBinary(t)}
	s.shift(t, 0)
	return s
}

func (s *shiftedHost) shift(t *testing.T, d time.Duration) {
	t.Helper()
	if err := os.WriteFile(s.file, []byte(d.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (s *shiftedHost) start(t *testing.T, dir string, args ...string) *host {
	t.Helper()
	return startHostBin(t, s.bin, []string{"LICENSEHOST_TEST_CLOCK_FILE=" + s.file}, dir, args...)
}

const day = 24 * time.Hour

// Defect 4: a clock jump seen by an answer is durable before the answer:
// clock +10 d, a status, kill -9 two seconds later, restart at −30 d with
// the server down → not active (trust is not extended).
//
// The server goes down right after the activation: the daemon's startup
// verification runs in the background and, on a loaded machine, can start
// after the clock jump; a success there would verify the license at +10 d
// and rightly keep it active. Down, it can only fail, which starts grace
// no later than the trust's end, as the jump does: the first status is
// grace with at most 12 days left either way (15 without the jump).
func TestClockJumpSurvivesKill9(t *testing.T) {
	srv := newLicenseServer(t)
	clk := newShiftedClock(t)
	dir := t.TempDir()
	h := clk.start(t, dir, fast(srv, "7", "15")...)
	if res, err := h.activate(e2eKey); err != nil || res.Status != "active" {
		t.Fatalf("activate: %+v %v", res, err)
	}
	srv.SetDown(true)
	clk.shift(t, 10*day)
	if st := h.status(); st.Status != "grace" || st.GraceDaysLeft == nil || *st.GraceDaysLeft > 12.01 {
		t.Fatalf("10 days later: %s/%s graceDaysLeft %v, want grace with ≤ 12 days", st.Status, st.Reason, st.GraceDaysLeft)
	}
	time.Sleep(2 * time.Second)
	h.kill()
	clk.shift(t, -30*day)
	h = clk.start(t, dir, fast(srv, "7", "15")...)
	st := h.status()
	if st.Status == "active" || st.GraceDaysLeft == nil || *st.GraceDaysLeft > 12.01 {
		t.Fatalf("after kill -9 and the clock turned back: %s/%s graceDaysLeft %v, want grace with ≤ 12 days", st.Status, st.Reason, st.GraceDaysLeft)
	}
}

// Defect 3, first half: a failure streak starts at the high-water mark, not
// at a clock turned back: clock −30 d plus one failed heartbeat is grace
// with its 15 days, not expired/grace_over.
func TestFailureStreakStartsAtHighWater(t *testing.T) {
	srv := newLicenseServer(t)
	clk, h := activeShifted(t, srv)
	clk.shift(t, -30*day)
	srv.SetDown(true)
	if _, err := h.client.Heartbeat(t.Context()); err == nil {
		t.Fatal("heartbeat against a server that is down succeeded")
	}
	st := h.status()
	if st.Status != "grace" || st.Reason != "remote_failing" || st.GraceDaysLeft == nil || *st.GraceDaysLeft < 14.9 {
		t.Fatalf("clock −30 d and one failure: %s/%s graceDaysLeft %v, want grace with 15 days", st.Status, st.Reason, st.GraceDaysLeft)
	}
}

// Defect 3, second half: a host that verifies while its clock is 30 days
// behind stays active once the clock is corrected.
func TestVerificationWhileClockBehind(t *testing.T) {
	srv := newLicenseServer(t)
	clk, h := activeShifted(t, srv)
	clk.shift(t, -30*day)
	if res, err := h.client.Heartbeat(t.Context()); err != nil || !res.Success {
		t.Fatalf("heartbeat with the clock 30 days behind: %+v %v", res, err)
	}
	clk.shift(t, 0)
	if st := h.status(); st.Status != "active" {
		t.Fatalf("after the clock was corrected: %s/%s, want active", st.Status, st.Reason)
	}
}

// The other side of defect 3's fix: a high-water mark left by a clock once
// set 30 days ahead heals with the next success, because the server's time
// agrees with the corrected clock.
func TestHighWaterFromClockAheadHeals(t *testing.T) {
	srv := newLicenseServer(t)
	clk, h := activeShifted(t, srv)
	clk.shift(t, 30*day)
	if st := h.status(); st.Status == "active" {
		t.Fatalf("30 days ahead: still active")
	}
	clk.shift(t, 0)
	if res, err := h.client.Heartbeat(t.Context()); err != nil || !res.Success {
		t.Fatalf("heartbeat: %+v %v", res, err)
	}
	st := h.status()
	if st.Status != "active" || st.TrustEndsAt == nil || time.Until(*st.TrustEndsAt) > 7*day+time.Minute {
		t.Fatalf("after a success with the clock corrected: %s/%s trust ends %v", st.Status, st.Reason, st.TrustEndsAt)
	}
}
