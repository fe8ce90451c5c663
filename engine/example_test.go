package engine_test

import (
	"fmt"
	"time"

	"github.com/licensehost/licensehost/engine"
)

// Evaluate is the state machine of docs/engine.md as a pure function: the
// same record read at different times gives active, then grace, then
// expired (community limits) — no clock, no store, no server.
func ExampleEvaluate() {
	cfg := engine.DefaultConfig() // trust 7 days, grace 15 days
	verified := time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC)
	rec := engine.Record{
		LicenseKey:          "LH-EXAMPLE-KEY-0001",
		MachineID:           "server_0123456789abcdef",
		RemoteVerifiedAt:    verified,
		LastLicenseTypeName: "年度版",
		LimitTotal:          engine.ParseLimit("500"), // customField1
		LimitBatch:          engine.ParseLimit(""),    // customField2: empty = unlimited
	}
	for _, days := range []int{1, 10, 30} {
		ev := engine.Evaluate(rec, cfg, rec.MachineID, verified.AddDate(0, 0, days))
		fmt.Printf("day %2d: %-7s reason=%-12s sponsored=%-5v total=%s batch=%s grace left %.0f days\n", days, ev.Status,
			ev.Reason, ev.IsSponsored, limit(ev.Limits.Total), limit(ev.Limits.Batch), ev.GraceDaysLeft())
	}
	// A different machine code: the stored license is not this machine's.
	ev := engine.Evaluate(rec, cfg, "server_fedcba9876543210", verified.AddDate(0, 0, 1))
	fmt.Println("other machine:", ev.Status, ev.Reason)
	// Output:
	// day  1: active  reason=             sponsored=true  total=500 batch=unlimited grace left 0 days
	// day 10: grace   reason=trust_lapsed sponsored=true  total=500 batch=unlimited grace left 12 days
	// day 30: expired reason=grace_over   sponsored=false total=200 batch=20 grace left 0 days
	// other machine: expired machine_changed
}

// DecideBuiltin is the quota rule of docs/engine.md: a batch is allowed when
// it fits both the batch limit and what is left of the total.
func ExampleDecideBuiltin() {
	limits := engine.Limits{Total: engine.Int64(500), Batch: engine.Int64(100)}
	for _, req := range []struct{ used, batch int64 }{{0, 50}, {0, 150}, {480, 30}, {450, 50}} {
		d := engine.DecideBuiltin(engine.QuotaInput{Limits: limits, Used: req.used, Batch: req.batch})
		fmt.Printf("used %3d + batch %3d: allowed=%-5v %s\n", req.used, req.batch, d.Allowed, d.Reason)
	}
	// Output:
	// used   0 + batch  50: allowed=true  ok
	// used   0 + batch 150: allowed=false batch_exceeded
	// used 480 + batch  30: allowed=false total_exceeded
	// used 450 + batch  50: allowed=true  ok
}

func limit(p *int64) string {
	if p == nil {
		return "unlimited"
	}
	return fmt.Sprint(*p)
}
