package fingerprint

import "testing"

func TestRealMachineStable(t *testing.T) {
	a, err := Compute(Options{})
	if err != nil {
		t.Skipf("override in environment: %v", err)
	}
	b, err := Compute(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !Valid(a.Code) || a.Code != b.Code {
		t.Fatalf("codes %q and %q", a.Code, b.Code)
	}
	if got := CodeFor(a.SignalMap()); got != a.Computed {
		t.Fatalf("CodeFor(SignalMap) = %s, Computed %s", got, a.Computed)
	}
	t.Logf("\n%s", a.Text())
}
