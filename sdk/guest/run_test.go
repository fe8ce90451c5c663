package guest

import (
	"strings"
	"testing"

	"github.com/licensehost/licensehost/sdk"
)

func TestRun(t *testing.T) {
	var logged []string
	s := &state{decide: valueDecider(sdk.Builtin), errOut: func(m string) { logged = append(logged, m) }}
	in := sdk.Input{LicenseType: "年度版", Status: sdk.StatusActive, Limits: sdk.Limits{Total: sdk.Max(100), Batch: sdk.Max(10)}, Used: 95, Batch: 10, Features: []string{"a", "b"}}
	s.in = sdk.AppendInput(make([]byte, 7), in) // at an offset
	got, err := sdk.DecodeOutput(s.run(7, uint64(len(s.in)-7)))
	if want := sdk.Builtin(in); err != nil || got != want {
		t.Fatalf("answer %+v, %v; want %+v", got, err, want)
	}
	for _, c := range []struct{ off, n uint64 }{{7, 3}, {uint64(len(s.in)), 1}, {1 << 63, 1 << 63}} {
		if out := s.run(c.off, c.n); out != nil {
			t.Errorf("run(%d, %d) answered %x", c.off, c.n, out)
		}
	}
	if len(logged) != 3 || !strings.Contains(logged[0], "malformed") {
		t.Errorf("logged %q", logged)
	}
	var into sdk.Output
	s.decide = func(in *sdk.Input, out *sdk.Output) { out.Allowed, out.Reason = true, "into:"+in.Features[1] }
	if got, err := sdk.DecodeOutput(s.run(7, uint64(len(s.in)-7))); err != nil || got.Reason != "into:b" || !got.Allowed {
		t.Errorf("DeciderInto answer %+v %v %v", got, err, into)
	}
}
