package ui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"fyne.io/fyne/v2/lang"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/hostclient"
)

// Statuses and reasons of api.Status (engine/state.go spells them).
const (
	statusCommunity    = "community"
	statusPending      = "pending"
	statusActive       = "active"
	statusGrace        = "grace"
	statusGraceLimited = "grace_limited"
	statusExpired      = "expired"
	statusSwitching    = "switching"
	statusTampered     = "tampered"

	reasonGraceOver      = "grace_over"
	reasonLicenseExpired = "license_expired"
	reasonMachineChanged = "machine_changed"
	reasonSwitchDone     = "switch_window_over"
)

// Kind sorts problems so the tray and tests can branch on them.
type Kind int

// Problem kinds.
const (
	KindNone         Kind = iota
	KindHostDown          // the daemon is not running
	KindUnauthorized      // wrong or missing token
	KindForbidden         // read-only token on an admin action
	KindBadKeyFormat      // "Invalid license key format"
	KindBadRequest        // another local refusal (bad machine code…)
	KindMismatch          // "License key mismatch": the machine changed
	KindInvalidKey        // "Invalid license key": definitive rejection
	KindNoAnswer          // the license server gave no trustworthy answer
	KindNoLicense         // no key stored
	KindTimeout           // the daemon did not answer in time
	KindTampered          // the stored record disagrees with its seal or proofs
	KindOther
)

// Problem is an error in plain words: a title and what to do.
type Problem struct {
	Kind   Kind
	Title  string
	Detail string
}

func (p Problem) String() string {
	if p.Detail == "" {
		return p.Title
	}
	return p.Title + "\n" + p.Detail
}

// mismatchWords mark a license server message that means the key is bound to
// another machine (reason machine_changed, docs/engine.md).
var mismatchWords = []string{"mismatch", "不匹配"}

func isMismatchMessage(msg string) bool {
	m := strings.ToLower(msg)
	for _, w := range mismatchWords {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

// mismatchProblem explains a license bound to another machine (reason
// machine_changed, docs/engine.md).
func mismatchProblem(machineID string) Problem {
	return Problem{
		Kind:  KindMismatch,
		Title: lang.L("License key mismatch"),
		Detail: lang.L("This license key is bound to another machine code: this machine changed (hardware, network interfaces or a move to another server). Either get a key for this machine's code {{.ID}} and activate it again, or move the license here from the old machine with \"Switch device\".",
			map[string]any{"ID": orDash(machineID)}),
	}
}

// explain turns an error of the Client into plain words. action is the
// action that failed ("activate", "heartbeat", "switch", "clear", "status").
func explain(err error, action, machineID string) Problem {
	if err == nil {
		return Problem{}
	}
	var ae *hostclient.ActionError
	switch {
	case errors.Is(err, hostclient.ErrHostNotRunning):
		return Problem{KindHostDown, lang.L("The license host is not running"),
			lang.L("Start it with `licensehost` (or `make run` in a source checkout), then press Refresh now.")}
	case errors.Is(err, hostclient.ErrUnauthorized):
		return Problem{KindUnauthorized, lang.L("Wrong token"),
			lang.L("The license host refused this app's token. The tray reads the admin token from admin.token in the host's data directory; pass --token-file or set LICENSEHOST_TOKEN_FILE if it lives elsewhere.")}
	case errors.Is(err, hostclient.ErrForbidden):
		return Problem{KindForbidden, lang.L("This token may not do that"),
			lang.L("A read-only app token cannot change the license. Use the admin token (admin.token).")}
	case errors.As(err, &ae):
		return explainAction(ae, action, machineID)
	case errors.Is(err, context.DeadlineExceeded):
		return Problem{KindTimeout, lang.L("The license host did not answer in time"),
			lang.L("Try again in a moment.")}
	}
	return Problem{KindOther, lang.L("Something went wrong"), err.Error()}
}

func explainAction(ae *hostclient.ActionError, action, machineID string) Problem {
	r := ae.Response
	if r == nil {
		r = &api.ActionResponse{}
	}
	remoteMsg, remoteCode := r.Message, 0
	if re := r.RemoteError; re != nil {
		remoteCode = re.HTTPStatus
		if re.Message != "" {
			remoteMsg = re.Message
		}
	}
	switch {
	case errors.Is(ae, hostclient.ErrBadRequest):
		if action == "activate" {
			return Problem{KindBadKeyFormat, lang.L("Invalid license key format"),
				lang.L("The key is incomplete or malformed. Copy the whole key again from where you got it and paste it here.")}
		}
		return Problem{KindBadRequest, lang.L("The request was refused"), r.Message}
	case errors.Is(ae, hostclient.ErrNoLicense):
		return Problem{KindNoLicense, lang.L("No license is stored"),
			lang.L("Activate a license key first.")}
	case errors.Is(ae, hostclient.ErrRejected):
		if isMismatchMessage(remoteMsg) {
			p := mismatchProblem(machineID)
			p.Detail = serverSaid(remoteCode, remoteMsg) + "\n" + p.Detail
			return p
		}
		return Problem{KindInvalidKey, lang.L("Invalid license key"),
			serverSaid(remoteCode, remoteMsg) + "\n" +
				lang.L("The license server rejected this key: it may have expired, been suspended or not exist. Check it where you got it, or get a new one.")}
	case errors.Is(ae, hostclient.ErrNoAnswer):
		d := lang.L("The license server is unreachable or failed ({{.HTTP}}): {{.Message}}",
			map[string]any{"HTTP": httpCode(remoteCode), "Message": orDash(remoteMsg)})
		if r.Fallback != nil && r.Fallback.IsSponsored {
			d += "\n" + lang.L("The license keeps working during the grace period; try again later.")
		} else {
			d += "\n" + lang.L("Nothing was lost; try again later.")
		}
		return Problem{KindNoAnswer, lang.L("No answer from the license server"), d}
	}
	return Problem{KindOther, lang.L("Something went wrong"), ae.Error()}
}

// serverSaid is "License server said (HTTP 403): message".
func serverSaid(code int, msg string) string {
	return lang.L("License server said ({{.HTTP}}): {{.Message}}",
		map[string]any{"HTTP": httpCode(code), "Message": orDash(msg)})
}

// statusProblem explains a status that needs the user's attention, or
// returns a zero Problem.
func statusProblem(st *api.Status) Problem {
	if st == nil {
		return Problem{}
	}
	switch st.Status {
	case statusExpired:
		switch st.Reason {
		case reasonMachineChanged:
			return mismatchProblem(st.MachineID)
		case reasonLicenseExpired:
			return Problem{KindInvalidKey, lang.L("The license has expired"),
				lang.L("The installation runs as the community edition. Renew the license, then activate it again.")}
		case reasonGraceOver:
			return Problem{KindNoAnswer, lang.L("Grace period over"),
				lang.L("Verification kept failing, so the installation fell back to the community edition. Press Refresh now once the license server is reachable.")}
		}
		return Problem{KindOther, lang.L("The license is not in force"), st.Reason}
	case statusTampered:
		return tamperedProblem(st)
	case statusPending:
		return Problem{KindNoAnswer, lang.L("Not verified yet"),
			lang.L("The key is stored but the license server has not confirmed it yet; it is retried automatically. Press Refresh now to retry.")}
	case statusSwitching:
		return Problem{KindNone, lang.L("Moving to another machine"),
			lang.L("This machine handed its license to {{.To}}; it keeps working until the switch window closes, then falls back to the community edition.",
				map[string]any{"To": orDash(st.SwitchedTo)})}
	case statusCommunity:
		if st.Reason == reasonSwitchDone {
			return Problem{KindNone, lang.L("The license moved to another machine"),
				lang.L("This installation runs as the community edition.")}
		}
	}
	return Problem{}
}

// tamperedProblem explains a stored record that disagrees with its seal or
// the signed answers it was derived from (docs/reliability.md, "Tamper
// evidence"): the host's message says what disagrees.
func tamperedProblem(st *api.Status) Problem {
	d := lang.L("Until the license is verified again the installation runs with community limits. Press Refresh now to verify it with the license server again; if that fails, clear the license and activate it again.")
	if m := strings.TrimSpace(st.Message); m != "" {
		d = m + "\n" + d
	}
	return Problem{KindTampered, lang.L("Local license data was altered"), d}
}

// notesText is the status notes (setup warnings, in the host's words) as a
// list, or "" when there are none.
func notesText(st *api.Status) string {
	if st == nil {
		return ""
	}
	var b strings.Builder
	for _, n := range st.Notes {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("• " + n)
	}
	return b.String()
}

// graceDays is the N of the grace notice: whole days left, rounded up.
func graceDays(left float64) int {
	if left <= 0 {
		return 0
	}
	return int(math.Ceil(left - 1e-9))
}

// graceNotice is the grace hint of docs/tray.md with N days left.
func graceNotice(st *api.Status) string {
	if st == nil || (st.Status != statusGrace && st.Status != statusGraceLimited) {
		return ""
	}
	n := 0
	if st.GraceDaysLeft != nil {
		n = graceDays(*st.GraceDaysLeft)
	}
	s := lang.L("Verification is currently failing, please refresh later. Grace period: {{.N}} days left; everything keeps working meanwhile, then the installation falls back to the community edition.",
		map[string]any{"N": n})
	if st.GraceEndsAt != nil {
		s += " " + lang.L("(until {{.When}})", map[string]any{"When": formatTime(*st.GraceEndsAt)})
	}
	if st.Status == statusGraceLimited {
		s += "\n" + lang.L("Too many failed verifications: batch creation is capped at 20 until the license server confirms the key again.")
	}
	return s
}

func statusLabel(s string) string {
	switch s {
	case statusActive:
		return lang.L("Active")
	case statusGrace:
		return lang.L("Grace period")
	case statusGraceLimited:
		return lang.L("Grace period (limited)")
	case statusExpired:
		return lang.L("Expired")
	case statusCommunity, "":
		return lang.L("Not activated")
	case statusPending:
		return lang.L("Pending verification")
	case statusSwitching:
		return lang.L("Switching device")
	case statusTampered:
		return "! " + lang.L("Data altered")
	}
	return s
}

func editionLabel(st *api.Status) string {
	if st.Edition == "" || st.Edition == statusCommunity {
		return lang.L("Community edition")
	}
	return st.Edition
}

func actionLabel(kind string) string {
	switch kind {
	case "activate":
		return lang.L("activation")
	case "heartbeat":
		return lang.L("refresh")
	case "switch":
		return lang.L("device switch")
	}
	return kind
}

// lastRefreshText is the "last refresh feedback with HTTP code and
// time".
func lastRefreshText(lr *api.LastRefresh) string {
	if lr == nil {
		return lang.L("Never refreshed")
	}
	data := map[string]any{
		"Kind": actionLabel(lr.Kind), "HTTP": httpCode(lr.HTTPStatus),
		"When": formatTime(lr.At), "Message": orDash(lr.Message),
	}
	if lr.Success {
		return lang.L("Last {{.Kind}}: OK · {{.HTTP}} · {{.When}}", data)
	}
	return lang.L("Last {{.Kind}}: failed · {{.HTTP}} · {{.When}} · {{.Message}}", data)
}

// httpCode is "HTTP 403", or "no HTTP answer" for 0 (network error).
func httpCode(c int) string {
	if c == 0 {
		return lang.L("no HTTP answer")
	}
	return fmt.Sprintf("HTTP %d", c)
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

// formatTime shows a time in local time, to the second.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// Explain puts an error of a status read in plain words (for callers that
// read the status without a View, like the tray before its window exists).
func Explain(err error) Problem { return explain(err, "status", "") }
