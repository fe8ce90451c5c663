package guest

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/licensehost/licensehost/sdk"
)

func TestTimeLayout(t *testing.T) {
	if !timeLayoutOK {
		t.Fatal("time.Time's layout changed: unixUTC falls back to package time (correct, slower)")
	}
	for _, now := range []int64{0, 1, -1, 999_999_999, 1e9, -1e9, -1e9 - 1, 1_700_000_000_123_456_789, 1<<63 - 1, -1 << 63} {
		got, want := unixUTC(now), unixUTCSlow(now)
		if got != want || !got.Equal(want) || got.Location() != want.Location() {
			t.Errorf("unixUTC(%d) = %v, want %v", now, got, want)
		}
	}
}

func TestDiffQuick(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 8; n <= maxQuick; n++ {
		a := make([]byte, n)
		for i := range a {
			a[i] = byte(r.Uint32())
		}
		if diffQuick(a, append([]byte(nil), a...)) != 0 || diffLong(a, append([]byte(nil), a...)) != 0 {
			t.Fatalf("n=%d: equal bytes differ", n)
		}
		for i := range n { // every byte is covered
			b := append([]byte(nil), a...)
			b[i] ^= 0x80
			if diffQuick(a, b) == 0 || diffLong(a, b) == 0 {
				t.Fatalf("n=%d: a change at byte %d is missed", n, i)
			}
		}
	}
}

// runInput runs s on the encoding of in, as policy_decide does.
func runInput(s *state, in []byte) []byte {
	if cap(s.in) < len(in) {
		s.in = make([]byte, len(in), max(len(in), 256))
	}
	s.in = s.in[:len(in)]
	copy(s.in, in)
	return s.run(0, uint64(len(in)))
}

func inputs() []sdk.Input {
	base := sdk.Input{
		LicenseType: "年度版", Status: sdk.StatusActive, IsSponsored: true,
		Limits: sdk.Limits{Total: sdk.Max(1000), Batch: sdk.Max(50)}, CustomField1: "1000",
		Used: 5, Batch: 3, Resource: "license", GraceLeft: time.Hour, Now: time.Unix(1_700_000_000, 5).UTC(),
	}
	var ins []sdk.Input
	for i := range 40 {
		in := base
		in.Used, in.Batch = int64(i), int64(i%7)-1
		in.IsSponsored = i%2 == 0
		in.Now = in.Now.Add(time.Duration(i) * time.Second)
		switch i % 10 {
		case 3:
			in.Limits.Total = sdk.Unlimited()
		case 4:
			in.Status = sdk.StatusGraceLimited
		case 5:
			in.Features = []string{"sso", "audit"}
		case 6:
			in.Features = []string{"sso", "audit"}
		case 7:
			in.CustomField3 = strings.Repeat("长", 60) // a string part over maxQuick bytes
		case 8:
			in.CustomField3 = strings.Repeat("长", 60)
		case 9:
			in.Now = time.Time{}
		}
		ins = append(ins, in)
	}
	return ins
}

// TestRunMatchesSDK checks that the guest's quick decoding and encoding
// give what the SDK's strict decoder and encoder give, including when the
// policy scribbles on the feature list it was handed.
func TestRunMatchesSDK(t *testing.T) {
	var seen []sdk.Input
	s := &state{tail: make([]byte, 8), byValue: true, decide: valueDecider(func(in sdk.Input) sdk.Output {
		c := in
		c.Features = append(in.Features[:0:0], in.Features...) // nil stays nil
		seen = append(seen, c)
		if len(in.Features) > 0 {
			in.Features[0] = "scribbled"
		}
		out := sdk.Builtin(in)
		out.Message += "·"
		return out
	})}
	for round := range 2 {
		for i, in := range inputs() {
			enc := sdk.AppendInput(nil, in)
			want, _ := sdk.DecodeInput(enc)
			seen = seen[:0]
			got := runInput(s, enc)
			if len(seen) != 1 {
				t.Fatalf("round %d input %d: decide called %d times", round, i, len(seen))
			}
			if !reflect.DeepEqual(seen[0], want) || seen[0].Now != want.Now {
				t.Fatalf("round %d input %d: policy saw\n%#v\nwant\n%#v", round, i, seen[0], want)
			}
			wantOut := sdk.Builtin(want)
			wantOut.Message += "·"
			if string(got) != string(sdk.AppendOutput(nil, wantOut)) {
				t.Fatalf("round %d input %d: output %x, want %x", round, i, got, sdk.AppendOutput(nil, wantOut))
			}
		}
	}
}

func TestRunRefusesMalformed(t *testing.T) {
	var msgs []string
	s := &state{tail: make([]byte, 8), errOut: func(m string) { msgs = append(msgs, m) },
		decide: func(in *sdk.Input, out *sdk.Output) { out.Allowed = true }}
	good := sdk.AppendInput(nil, inputs()[0])
	if runInput(s, good) == nil {
		t.Fatal("good input refused")
	}
	bad := map[string][]byte{
		"version":  func() []byte { b := append([]byte(nil), good...); b[0] = 2; return b }(),
		"flags":    func() []byte { b := append([]byte(nil), good...); b[1] |= 8; return b }(),
		"reserved": func() []byte { b := append([]byte(nil), good...); b[3] = 1; return b }(),
		"trailing": append(append([]byte(nil), good...), 0),
		"short":    good[:len(good)-1],
		"tiny":     good[:10],
		"string":   func() []byte { b := append([]byte(nil), good...); b[52] = 200; return b }(),
	}
	for name, b := range bad {
		msgs = msgs[:0]
		if out := runInput(s, b); out != nil {
			t.Errorf("%s: accepted", name)
		}
		if len(msgs) != 1 || !strings.Contains(msgs[0], "malformed") {
			t.Errorf("%s: messages %q", name, msgs)
		}
		// The good input still decides after a refusal.
		if runInput(s, good) == nil {
			t.Fatalf("%s: good input refused after it", name)
		}
	}
	// Outside the buffer, or no policy.
	if s.run(uint64(cap(s.in)), 1) != nil || s.run(1<<63, 1<<63) != nil {
		t.Error("an input outside the buffer was accepted")
	}
	s.decide = nil
	if runInput(s, good) != nil {
		t.Error("decided without a policy")
	}
}

func TestRunReusesOutputBuffer(t *testing.T) {
	s := &state{tail: make([]byte, 8), decide: sdk.BuiltinInto}
	enc := sdk.AppendInput(nil, inputs()[2]) // allowed: no message built
	a := runInput(s, enc)
	b := runInput(s, enc)
	if unsafe.SliceData(a) != unsafe.SliceData(b) {
		t.Error("output buffer reallocated")
	}
	if n := testing.AllocsPerRun(100, func() { runInput(s, enc) }); n != 0 {
		t.Errorf("%v allocations per decision", n)
	}
}

// A DeciderInto policy that writes to the input it must only read does not
// change what the next call sees: the strings kept from it are dropped.
func TestRunSurvivesWritesToInput(t *testing.T) {
	var seen []sdk.Input
	s := &state{tail: make([]byte, 8), decide: func(in *sdk.Input, out *sdk.Output) {
		c := *in
		c.Features = append(in.Features[:0:0], in.Features...)
		seen = append(seen, c)
		in.LicenseType, in.Resource, in.Features = "scribbled", "", nil
		sdk.BuiltinInto(in, out)
	}}
	for i, in := range inputs() {
		enc := sdk.AppendInput(nil, in)
		want, _ := sdk.DecodeInput(enc)
		for round := range 3 {
			seen = seen[:0]
			got := runInput(s, enc)
			if len(seen) != 1 || !reflect.DeepEqual(seen[0], want) {
				t.Fatalf("input %d round %d: policy saw\n%#v\nwant\n%#v", i, round, seen, want)
			}
			if wantOut := sdk.AppendOutput(nil, sdk.Builtin(want)); string(got) != string(wantOut) {
				t.Fatalf("input %d round %d: output %x, want %x", i, round, got, wantOut)
			}
		}
	}
}

// Answers that differ from the last in any one field are encoded afresh;
// the same answer again keeps the last encoding.
func TestRunReencodesChangedAnswers(t *testing.T) {
	outs := []sdk.Output{
		{Allowed: true, Reason: "ok", Limits: sdk.Limits{Total: sdk.Max(10)}},
		{Allowed: true, Reason: "ok", Limits: sdk.Limits{Total: sdk.Max(10)}},
		{Allowed: false, Reason: "ok", Limits: sdk.Limits{Total: sdk.Max(10)}},
		{Allowed: false, Reason: "ok", Limits: sdk.Limits{Total: sdk.Max(11)}},
		{Allowed: false, Reason: "ok", Limits: sdk.Limits{Total: sdk.Max(11), Batch: sdk.Max(0)}},
		{Allowed: false, Reason: "no", Limits: sdk.Limits{Total: sdk.Max(11), Batch: sdk.Max(0)}},
		{Allowed: false, Reason: "no", Message: "m", Limits: sdk.Limits{Total: sdk.Max(11), Batch: sdk.Max(0)}},
		{Allowed: false, Reason: "no", Message: "n", Limits: sdk.Limits{Total: sdk.Max(11), Batch: sdk.Max(0)}},
		{},
		{Allowed: true, Reason: "ok", Limits: sdk.Limits{Total: sdk.Max(10)}},
	}
	i := 0
	s := &state{tail: make([]byte, 8), decide: func(in *sdk.Input, out *sdk.Output) { *out = outs[i] }}
	enc := sdk.AppendInput(nil, inputs()[2])
	for i = range outs {
		if got, want := runInput(s, enc), sdk.AppendOutput(nil, outs[i]); string(got) != string(want) {
			t.Errorf("answer %d: %x, want %x", i, got, want)
		}
	}
}
