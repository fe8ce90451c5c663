package wire

import (
	"bytes"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/sdk"
)

// AppendInput writes exactly the SDK's encoding of the converted input.
func FuzzAppendInputParity(f *testing.F) {
	f.Add("年度版", "active", true, true, int64(100), false, int64(0), "100", "", "x", int64(5), int64(3), "r", int64(time.Hour), "f1", "f2", int64(1700000000123456789))
	f.Add("", "", false, false, int64(0), true, int64(-1), "", "", "", int64(0), int64(0), "", int64(0), "", "", int64(0))
	f.Fuzz(func(t *testing.T, lt, status string, sponsored, hasTotal bool, total int64, hasBatch bool, batch int64,
		cf1, cf2, cf3 string, used, n int64, res string, grace int64, f1, f2 string, now int64) {
		in := engine.QuotaInput{LicenseType: lt, Status: engine.Status(status), IsSponsored: sponsored,
			CustomField1: cf1, CustomField2: cf2, CustomField3: cf3, Used: used, Batch: n, Resource: res,
			GraceLeft: time.Duration(grace)}
		if hasTotal {
			in.Limits.Total = &total
		}
		if hasBatch {
			in.Limits.Batch = &batch
		}
		if f1 != "" {
			in.Features = []string{f1, f2}
		}
		if now != 0 {
			in.Now = time.Unix(0, now)
		}
		if got, want := AppendInput(nil, &in), sdk.AppendInput(nil, Input(in)); !bytes.Equal(got, want) {
			t.Fatalf("AppendInput\n got %x\nwant %x", got, want)
		}
	})
}

// Whatever quickDecision accepts, the careful decoder reads the same way.
func FuzzQuickDecision(f *testing.F) {
	for _, o := range []sdk.Output{
		{Allowed: true, Reason: "ok", Limits: sdk.Limits{Total: sdk.Max(10), Batch: sdk.Max(3)}},
		{Reason: "batch_exceeded", Message: "batch of 4 exceeds the batch limit of 3"},
		{Reason: "custom"}, {Allowed: true}, {Message: "\xff"},
	} {
		f.Add(sdk.AppendOutput(nil, o), int64(10))
	}
	f.Fuzz(func(t *testing.T, b []byte, total int64) {
		in := &engine.QuotaInput{Limits: engine.Limits{Total: &total}}
		quick, ok := quickDecision(b, "p", in)
		if !ok {
			return
		}
		careful, err := carefulDecision(b, "p")
		if err != nil {
			t.Fatalf("quick accepted what the careful decoder refuses: %v", err)
		}
		if quick.Allowed != careful.Allowed || quick.Reason != careful.Reason || quick.Message != careful.Message ||
			quick.Policy != careful.Policy || !sameLimit(quick.Limits.Total, careful.Limits.Total) ||
			!sameLimit(quick.Limits.Batch, careful.Limits.Batch) {
			t.Fatalf("quick %+v, careful %+v", quick, careful)
		}
	})
}

func sameLimit(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// The usual answer (allowed, the input's limits, a known reason) costs no
// allocation, and shares the input's limit pointers.
func TestDecisionAllocations(t *testing.T) {
	in := &engine.QuotaInput{Limits: engine.Limits{Total: engine.Int64(1000), Batch: engine.Int64(10)}}
	b := sdk.AppendOutput(nil, sdk.Output{Allowed: true, Reason: "ok", Limits: sdk.Limits{Total: sdk.Max(1000), Batch: sdk.Max(10)}})
	var d engine.QuotaDecision
	allocs := testing.AllocsPerRun(100, func() { d, _ = DecisionFor(b, "wasm:x", in) })
	if allocs != 0 || d.Limits.Total != in.Limits.Total || d.Reason != engine.ReasonOK {
		t.Errorf("%v allocations, decision %+v", allocs, d)
	}
}
