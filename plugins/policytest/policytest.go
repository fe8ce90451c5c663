// Package policytest is the conformance suite of engine.Policy: one table of
// inputs and the decisions every implementation of the built-in rules
// (engine.Builtin, the builtin example as WebAssembly and as a go-plugin)
// must give, byte for byte except the policy name.
package policytest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
)

// Case is one row of the conformance table.
type Case struct {
	Name string
	In   engine.QuotaInput
	Want engine.QuotaDecision // Policy is not compared
}

var (
	now       = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	license   = engine.Limits{Total: engine.Int64(1000), Batch: engine.Int64(50)}
	community = engine.Limits{Total: engine.Int64(200), Batch: engine.Int64(20)}
	graceLim  = engine.Limits{Total: engine.Int64(1000), Batch: engine.Int64(20)}
	unlimited = engine.Limits{}
)

// Sample is an ordinary input (an active 年度版 within its limits) for tests
// that need one call, not the table.
var Sample = engine.QuotaInput{
	LicenseType: "年度版", Status: engine.StatusActive, IsSponsored: true,
	Limits: engine.Limits{Total: engine.Int64(1000), Batch: engine.Int64(10)},
	Used:   5, Batch: 3,
}

func in(status engine.Status, lim engine.Limits, used, batch int64) engine.QuotaInput {
	return engine.QuotaInput{
		LicenseType: "年度版", Status: status, IsSponsored: status.Sponsored(), Limits: lim,
		CustomField1: "1000", CustomField2: "50", Used: used, Batch: batch, Resource: "projects",
		Features: []string{"export", "sso"}, Now: now,
	}
}

func want(allowed bool, lim engine.Limits, reason, msg string) engine.QuotaDecision {
	return engine.QuotaDecision{Allowed: allowed, Limits: lim, Reason: reason, Message: msg}
}

// Cases is the conformance table of the built-in rules (docs/engine.md, Quotas).
var Cases = []Case{
	{"active within limits", in(engine.StatusActive, license, 100, 50), want(true, license, engine.ReasonOK, "")},
	{"active batch at limit", in(engine.StatusActive, license, 0, 50), want(true, license, engine.ReasonOK, "")},
	{"active batch over limit", in(engine.StatusActive, license, 0, 51), want(false, license, engine.ReasonBatchExceeded, "batch of 51 exceeds the batch limit of 50")},
	{"active total exactly reached", in(engine.StatusActive, license, 950, 50), want(true, license, engine.ReasonOK, "")},
	{"active total exceeded", in(engine.StatusActive, license, 951, 50), want(false, license, engine.ReasonTotalExceeded, "951 used + 50 requested exceeds the total limit of 1000")},
	{"unlimited license", in(engine.StatusActive, unlimited, 1<<40, 1<<20), want(true, unlimited, engine.ReasonOK, "")},
	{"total only", in(engine.StatusActive, engine.Limits{Total: engine.Int64(10)}, 5, 6), want(false, engine.Limits{Total: engine.Int64(10)}, engine.ReasonTotalExceeded, "5 used + 6 requested exceeds the total limit of 10")},
	{"batch only", in(engine.StatusActive, engine.Limits{Batch: engine.Int64(3)}, 1<<50, 3), want(true, engine.Limits{Batch: engine.Int64(3)}, engine.ReasonOK, "")},
	{"community fallback", in(engine.StatusCommunity, community, 190, 10), want(true, community, engine.ReasonOK, "")},
	{"community batch", in(engine.StatusCommunity, community, 0, 21), want(false, community, engine.ReasonBatchExceeded, "batch of 21 exceeds the batch limit of 20")},
	{"expired total", in(engine.StatusExpired, community, 200, 1), want(false, community, engine.ReasonTotalExceeded, "200 used + 1 requested exceeds the total limit of 200")},
	{"grace", in(engine.StatusGrace, license, 0, 50), want(true, license, engine.ReasonOK, "")},
	{"grace_limited batch cap", in(engine.StatusGraceLimited, graceLim, 0, 21), want(false, graceLim, engine.ReasonBatchExceeded, "batch of 21 exceeds the batch limit of 20")},
	{"zero batch", in(engine.StatusActive, license, 0, 0), want(false, license, engine.ReasonInvalidBatch, "batch must be at least 1, got 0")},
	{"negative batch", in(engine.StatusActive, license, 0, -5), want(false, license, engine.ReasonInvalidBatch, "batch must be at least 1, got -5")},
	{"negative used", in(engine.StatusActive, license, -1, 1), want(false, license, engine.ReasonInvalidBatch, "used must not be negative, got -1")},
	{"zero total", in(engine.StatusActive, engine.Limits{Total: engine.Int64(0)}, 0, 1), want(false, engine.Limits{Total: engine.Int64(0)}, engine.ReasonTotalExceeded, "0 used + 1 requested exceeds the total limit of 0")},
	{"overflow-safe total", in(engine.StatusActive, engine.Limits{Total: engine.Int64(1 << 62)}, 1<<62, 1<<62), want(false, engine.Limits{Total: engine.Int64(1 << 62)}, engine.ReasonTotalExceeded, fmt.Sprintf("%d used + %d requested exceeds the total limit of %d", int64(1<<62), int64(1<<62), int64(1<<62)))},
	{"unicode type, empty fields", engine.QuotaInput{LicenseType: "终生赞助版", Status: engine.StatusSwitching, IsSponsored: true, Batch: 1}, want(true, unlimited, engine.ReasonOK, "")},
}

// Run checks p against every case; each case is a subtest.
func Run(t *testing.T, p engine.Policy) {
	t.Helper()
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			got, err := p.Decide(context.Background(), c.In)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if msg := Diff(got, c.Want); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// Diff describes how got differs from want, ignoring the policy name; "" if
// they agree.
func Diff(got, want engine.QuotaDecision) string {
	if got.Allowed == want.Allowed && got.Reason == want.Reason && got.Message == want.Message &&
		eq(got.Limits.Total, want.Limits.Total) && eq(got.Limits.Batch, want.Limits.Batch) {
		return ""
	}
	return fmt.Sprintf("decision\n got %s\nwant %s", Format(got), Format(want))
}

// Format renders a decision for messages.
func Format(d engine.QuotaDecision) string {
	return fmt.Sprintf("{allowed:%v total:%s batch:%s reason:%q message:%q policy:%q}",
		d.Allowed, lim(d.Limits.Total), lim(d.Limits.Batch), d.Reason, d.Message, d.Policy)
}

func lim(p *int64) string {
	if p == nil {
		return "unlimited"
	}
	return fmt.Sprint(*p)
}

func eq(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
