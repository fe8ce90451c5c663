package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
)

func benchFeatureInput() engine.FeatureInput {
	p := engine.Product{Name: "bench", Preauth: 180 * 24 * time.Hour}
	var grants []engine.Grant
	for i := range 64 {
		name := fmt.Sprintf("feature.%02d", i)
		p.Features = append(p.Features, engine.Feature{Name: name, Title: name})
		if i%2 == 0 {
			p.PreauthFeatures = append(p.PreauthFeatures, name)
		}
		if i%4 == 1 {
			grants = append(grants, engine.Grant{Feature: name, Kind: engine.KindFormal, Source: "online", ExpiresAt: t0.Add(day(365))})
		}
	}
	return engine.FeatureInput{Product: p, Preauth: engine.PreauthState{StartedAt: t0}, Grants: grants, Now: t0.Add(day(1))}
}

// BenchmarkEvaluateFeatures: every feature of a 64-feature product with 16
// online grants (what GET /api/features and policy input compute).
func BenchmarkEvaluateFeatures(b *testing.B) {
	in := benchFeatureInput()
	b.ReportAllocs()
	for b.Loop() {
		_ = engine.EvaluateFeatures(in)
	}
}

// BenchmarkEvaluateFeature: one feature of the same product (what POST
// /api/features/check computes).
func BenchmarkEvaluateFeature(b *testing.B) {
	in := benchFeatureInput()
	b.ReportAllocs()
	for b.Loop() {
		_ = engine.EvaluateFeature(in, "feature.61")
	}
}
