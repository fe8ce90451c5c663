package sdk_test

import (
	"fmt"
	"testing"

	"github.com/licensehost/licensehost/sdk"
)

func TestBuiltin(t *testing.T) {
	lim := sdk.Limits{Total: sdk.Max(100), Batch: sdk.Max(20)}
	for _, c := range []struct {
		used, batch int64
		want        string
	}{
		{0, 20, sdk.ReasonOK}, {80, 20, sdk.ReasonOK}, {0, 21, sdk.ReasonBatchExceeded},
		{81, 20, sdk.ReasonTotalExceeded}, {0, 0, sdk.ReasonInvalidBatch}, {-1, 1, sdk.ReasonInvalidBatch},
	} {
		out := sdk.Builtin(sdk.Input{Limits: lim, Used: c.used, Batch: c.batch})
		if out.Reason != c.want || out.Allowed != (c.want == sdk.ReasonOK) {
			t.Errorf("used %d batch %d: %+v, want %s", c.used, c.batch, out, c.want)
		}
	}
	if out := sdk.Builtin(sdk.Input{Used: 1 << 62, Batch: 1 << 62}); !out.Allowed {
		t.Errorf("unlimited: %+v", out)
	}
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]sdk.Limit{"": sdk.Unlimited(), "  ": sdk.Unlimited(), "50": sdk.Max(50), " 7 ": sdk.Max(7)} {
		if got, ok := sdk.ParseLimit(in); !ok || got != want {
			t.Errorf("ParseLimit(%q) = %v, %v", in, got, ok)
		}
	}
	if _, ok := sdk.ParseLimit("lots"); ok {
		t.Error("ParseLimit(lots) ok")
	}
}

func ExampleBuiltin() {
	out := sdk.Builtin(sdk.Input{Limits: sdk.Limits{Batch: sdk.Max(20)}, Batch: 25})
	fmt.Println(out.Allowed, out.Reason, out.Message)
	// Output: false batch_exceeded batch of 25 exceeds the batch limit of 20
}
