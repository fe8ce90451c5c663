package sdk_test

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/sdk"
)

var inputs = []sdk.Input{
	{},
	{
		LicenseType: "终生赞助版", Status: sdk.StatusActive, IsSponsored: true,
		Limits:       sdk.Limits{Total: sdk.Max(1000), Batch: sdk.Max(-3)},
		CustomField1: "1000", CustomField2: "", CustomField3: "x\x00y",
		Used: 999, Batch: -1 << 63, Resource: "projects",
		GraceLeft: 36 * time.Hour, Features: []string{"a", "", "β"},
		Now: time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC),
	},
	{Status: sdk.StatusCommunity, Limits: sdk.Limits{Batch: sdk.Max(20)}, Features: []string{}},
}

func TestInputRoundTrip(t *testing.T) {
	for _, in := range inputs {
		b := sdk.AppendInput(nil, in)
		got, err := sdk.DecodeInput(b)
		if err != nil {
			t.Fatalf("DecodeInput(AppendInput(%+v)): %v", in, err)
		}
		if len(in.Features) == 0 {
			in.Features = nil // an empty list travels as no list
		}
		if !reflect.DeepEqual(got, in) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, in)
		}
	}
}

func TestOutputRoundTrip(t *testing.T) {
	for _, out := range []sdk.Output{
		{},
		{Allowed: true, Limits: sdk.Limits{Total: sdk.Max(0)}, Reason: sdk.ReasonOK},
		{Limits: sdk.Limits{Total: sdk.Max(5), Batch: sdk.Max(50)}, Reason: "x", Message: "年度版 batch of 51"},
	} {
		b := sdk.AppendOutput(nil, out)
		got, err := sdk.DecodeOutput(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, out) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, out)
		}
	}
}

// TestLayout pins the ABI v1 byte layout of docs/policy-abi.md.
func TestLayout(t *testing.T) {
	out := sdk.AppendOutput(nil, sdk.Output{Allowed: true, Limits: sdk.Limits{Batch: sdk.Max(50)}, Reason: "ok"})
	want := []byte{1, 0b101, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 50, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 'o', 'k', 0, 0, 0, 0}
	if !bytes.Equal(out, want) {
		t.Errorf("output bytes\n got %v\nwant %v", out, want)
	}
	in := sdk.AppendInput(nil, sdk.Input{IsSponsored: true, Used: 7, Batch: 2, LicenseType: "t"})
	if len(in) != 52+4+1+5*4+4 || in[0] != 1 || in[1] != 1 || in[20] != 7 || in[28] != 2 || in[52] != 1 || in[56] != 't' {
		t.Errorf("input bytes %v", in)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := sdk.AppendInput(nil, inputs[1])
	cases := map[string][]byte{
		"empty":     nil,
		"short":     good[:10],
		"version 2": append([]byte{2}, good[1:]...),
		"flags":     append([]byte{1, 0x80}, good[2:]...),
		"reserved":  append([]byte{1, 0, 1}, good[3:]...),
		"truncated": good[:len(good)-1],
		"trailing":  append(append([]byte{}, good...), 0),
		"huge string": func() []byte {
			b := sdk.AppendInput(nil, sdk.Input{})
			b[52], b[53], b[54], b[55] = 0xff, 0xff, 0xff, 0xff
			return b
		}(),
		"huge feature count": func() []byte {
			b := sdk.AppendInput(nil, sdk.Input{})
			copy(b[len(b)-4:], []byte{0xff, 0xff, 0xff, 0x7f})
			return b
		}(),
	}
	for name, b := range cases {
		if _, err := sdk.DecodeInput(b); !errors.Is(err, sdk.ErrMalformed) {
			t.Errorf("%s: DecodeInput error = %v, want ErrMalformed", name, err)
		}
	}
	if _, err := sdk.DecodeOutput([]byte{1, 1, 0, 0}); !errors.Is(err, sdk.ErrMalformed) {
		t.Errorf("short output: %v", err)
	}
}

func FuzzDecodeInput(f *testing.F) {
	for _, in := range inputs {
		f.Add(sdk.AppendInput(nil, in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := sdk.DecodeInput(b)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to the same bytes.
		if again := sdk.AppendInput(nil, in); !bytes.Equal(again, canonical(b)) {
			t.Fatalf("re-encoding differs:\n in %v\nout %v", b, again)
		}
	})
}

func FuzzDecodeOutput(f *testing.F) {
	f.Add(sdk.AppendOutput(nil, sdk.Output{Allowed: true, Reason: "ok", Message: "m"}))
	f.Add(sdk.AppendOutput(nil, sdk.Output{Limits: sdk.Limits{Total: sdk.Max(1), Batch: sdk.Max(2)}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := sdk.DecodeOutput(b)
		if err != nil {
			return
		}
		if again := sdk.AppendOutput(nil, out); !bytes.Equal(again, canonical(b)) {
			t.Fatalf("re-encoding differs:\n in %v\nout %v", b, again)
		}
	})
}

// canonical zeroes the value bytes of unlimited limits, which decoding
// ignores and encoding writes as 0: the only non-canonical part of ABI v1.
func canonical(b []byte) []byte {
	c := append([]byte(nil), b...)
	if c[1]&2 == 0 {
		clear(c[4:12])
	}
	if c[1]&4 == 0 {
		clear(c[12:20])
	}
	return c
}

func TestDecoderReuses(t *testing.T) {
	var d sdk.Decoder
	for i := range 3 {
		for _, in := range inputs {
			got, err := d.Decode(sdk.AppendInput(nil, in))
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Features) == 0 {
				in.Features = nil
			}
			if !reflect.DeepEqual(got, in) {
				t.Errorf("pass %d:\n got %+v\nwant %+v", i, got, in)
			}
		}
	}
	b := sdk.AppendInput(nil, inputs[1])
	d.Decode(b)
	if n := testing.AllocsPerRun(100, func() { d.Decode(b) }); n != 0 {
		t.Errorf("Decode of a repeated input allocates %v times", n)
	}
}

func FuzzDecoder(f *testing.F) {
	for _, in := range inputs {
		f.Add(sdk.AppendInput(nil, in), sdk.AppendInput(nil, inputs[1]))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var d sdk.Decoder
		for _, m := range [][]byte{a, b, a} {
			got, err := d.Decode(m)
			want, werr := sdk.DecodeInput(m)
			if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
				t.Fatalf("Decoder and DecodeInput disagree on %v: %+v %v / %+v %v", m, got, err, want, werr)
			}
		}
	})
}

// TestDecoderSeesEveryByte changes each byte of the string part of inputs
// of many lengths after the Decoder has seen the original: it must decode
// exactly what DecodeInput does (its reuse test compares words, with an
// overlapping last word).
func TestDecoderSeesEveryByte(t *testing.T) {
	cases := slices.Clone(inputs)
	for n := range 100 { // string parts of 34 to 133 bytes
		cases = append(cases, sdk.Input{LicenseType: strings.Repeat("x", n), Status: sdk.StatusActive})
	}
	for _, in := range cases {
		b := sdk.AppendInput(nil, in)
		for i := 52; i < len(b); i++ {
			for _, flip := range []byte{0x01, 0x80} {
				var d sdk.Decoder
				if _, err := d.Decode(b); err != nil {
					t.Fatal(err)
				}
				m := bytes.Clone(b)
				m[i] ^= flip
				got, err := d.Decode(m)
				want, werr := sdk.DecodeInput(m)
				if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
					t.Fatalf("byte %d of %d changed by %#x: Decoder %+v %v, DecodeInput %+v %v", i, len(b), flip, got, err, want, werr)
				}
			}
		}
	}
}
