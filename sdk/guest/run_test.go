package guest

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/licensehost/licensehost/sdk"
)

// addr is p's address modulo 2^32, as policyDecide takes and answers them.
func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func TestPolicyDecide(t *testing.T) {
	var logged []string
	g = state{decide: valueDecider(sdk.Builtin), errOut: func(m string) { logged = append(logged, m) }}
	t.Cleanup(func() { g = state{} })
	in := sdk.Input{LicenseType: "年度版", Status: sdk.StatusActive, Limits: sdk.Limits{Total: sdk.Max(100), Batch: sdk.Max(10)}, Used: 95, Batch: 10, Features: []string{"a", "b"}}
	g.in = sdk.AppendInput(make([]byte, 7), in) // at an offset
	answer := func(v uint64) []byte {
		t.Helper()
		if v == 0 {
			return nil
		}
		if uint32(v>>32) != addr(g.out) || int(uint32(v)) != len(g.out) {
			t.Fatalf("answered %#x, the output is %d bytes at %#x", v, len(g.out), addr(g.out))
		}
		return g.out
	}
	for range 2 { // the second time through the decoder's memory
		got, err := sdk.DecodeOutput(answer(policyDecide(addr(g.in)+7, uint32(len(g.in)-7))))
		if want := sdk.Builtin(in); err != nil || got != want {
			t.Fatalf("answer %+v, %v; want %+v", got, err, want)
		}
	}
	for _, c := range []struct{ ptr, n uint32 }{{addr(g.in) + 7, 3}, {addr(g.in) + uint32(len(g.in)), 1}, {addr(g.in) - 1, 2}, {addr(g.in) + 7, 1 << 31}} {
		if v := policyDecide(c.ptr, c.n); v != 0 {
			t.Errorf("policyDecide(%#x, %d) answered %#x", c.ptr, c.n, v)
		}
	}
	if len(logged) != 4 || !strings.Contains(logged[0], "malformed") {
		t.Errorf("logged %q", logged)
	}
	g.decide = func(in *sdk.Input, out *sdk.Output) { out.Allowed, out.Reason = true, "into:"+in.Features[1] }
	if got, err := sdk.DecodeOutput(answer(policyDecide(addr(g.in)+7, uint32(len(g.in)-7)))); err != nil || got.Reason != "into:b" || !got.Allowed {
		t.Errorf("DeciderInto answer %+v %v", got, err)
	}
}
