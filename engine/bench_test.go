package engine_test

import (
	"context"
	"testing"

	"github.com/licensehost/licensehost/engine"
)

// BenchmarkEvaluate: one evaluation of the state machine (docs/engine.md) (the hot path of every status
// read and quota decision).
func BenchmarkEvaluate(b *testing.B) {
	rec := withStreak(verified(t0), 2, t0.Add(day(8)))
	cfg := engine.DefaultConfig()
	now := t0.Add(day(9))
	b.ReportAllocs()
	for b.Loop() {
		ev := engine.Evaluate(rec, cfg, thisMachine, now)
		if ev.Status != engine.StatusGrace {
			b.Fatal(ev.Status)
		}
	}
}

// BenchmarkBuiltinDecision: the builtin quota decision, through the Policy
// interface as the engine calls it.
func BenchmarkBuiltinDecision(b *testing.B) {
	var p engine.Policy = engine.Builtin{}
	in := engine.QuotaInput{Status: engine.StatusActive, IsSponsored: true,
		Limits: engine.Limits{Total: engine.Int64(500), Batch: engine.Int64(100)}, Used: 120, Batch: 20}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d, _ := p.Decide(ctx, in)
		if !d.Allowed {
			b.Fatal(d)
		}
	}
}
