package wire_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/plugins/wire"
	"github.com/licensehost/licensehost/sdk"
)

func TestInputCarriesEverything(t *testing.T) {
	in := engine.QuotaInput{
		LicenseType: "终生赞助版", Status: engine.StatusGraceLimited, IsSponsored: true,
		Limits:       engine.Limits{Total: engine.Int64(9), Batch: nil},
		CustomField1: "9", CustomField2: "", CustomField3: "c3", Used: 1, Batch: 2, Resource: "r",
		GraceLeft: time.Hour, Features: []string{"f"}, Now: time.Unix(1700000000, 5).UTC(),
	}
	got, err := sdk.DecodeInput(wire.AppendInput(nil, &in))
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.Input{LicenseType: in.LicenseType, Status: "grace_limited", IsSponsored: true,
		Limits: sdk.Limits{Total: sdk.Max(9)}, CustomField1: "9", CustomField3: "c3", Used: 1, Batch: 2,
		Resource: "r", GraceLeft: time.Hour, Features: []string{"f"}, Now: in.Now}
	if got.LicenseType != want.LicenseType || got.Status != want.Status || got.Limits != want.Limits ||
		got.CustomField3 != "c3" || got.GraceLeft != time.Hour || !got.Now.Equal(in.Now) || got.Features[0] != "f" {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestDecisionSanitises(t *testing.T) {
	enc := func(o sdk.Output) []byte { return sdk.AppendOutput(nil, o) }
	d, err := wire.Decision(enc(sdk.Output{Allowed: true, Limits: sdk.Limits{Batch: sdk.Max(5)}}), "wasm:x")
	if err != nil || d.Reason != engine.ReasonOK || d.Policy != "wasm:x" || *d.Limits.Batch != 5 || d.Limits.Total != nil {
		t.Errorf("allowed without reason: %+v %v", d, err)
	}
	d, _ = wire.Decision(enc(sdk.Output{Message: "bad \xff" + strings.Repeat("é", 1000)}), "p")
	if d.Reason != wire.ReasonDenied || !strings.HasPrefix(d.Message, "bad \uFFFD") || len(d.Message) > wire.MaxMessage+len("…") {
		t.Errorf("refusal message %q (%d bytes), reason %q", d.Message[:20], len(d.Message), d.Reason)
	}
	for _, reason := range []string{"has space", strings.Repeat("x", 65), "ünicode"} {
		if _, err := wire.Decision(enc(sdk.Output{Reason: reason}), "p"); !errors.Is(err, wire.ErrBadOutput) {
			t.Errorf("reason %q: %v", reason, err)
		}
	}
	if _, err := wire.Decision([]byte{1}, "p"); !errors.Is(err, wire.ErrBadOutput) || !errors.Is(err, sdk.ErrMalformed) {
		t.Errorf("garbage: %v", err)
	}
}

func TestFallbackReason(t *testing.T) {
	for kind, want := range map[error]string{wire.ErrTimeout: "timeout", wire.ErrCrash: "crash", errors.New("x"): "error"} {
		if got := wire.FallbackReason(&wire.CallError{Kind: kind}); got != want {
			t.Errorf("%v: %q", kind, got)
		}
	}
}
