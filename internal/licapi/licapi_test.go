package licapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestFlexString(t *testing.T) {
	for in, want := range map[string]string{
		`"x"`: "x", `500`: "500", `5e2`: "500", `1.50`: "1.5", `-0.0`: "0", `1e400`: "1e400",
		`12345678901234567890123`: "12345678901234567890123", `true`: "true", `false`: "false",
		`null`: "", `{"a":1}`: "", `[1]`: "", `"007"`: "007",
	} {
		var s FlexString = "stale"
		if err := json.Unmarshal([]byte(in), &s); err != nil || string(s) != want {
			t.Errorf("%s → %q, %v; want %q", in, s, err, want)
		}
	}
}

func TestFlexInt(t *testing.T) {
	for in, want := range map[string]FlexInt{
		`42`: Int(42), `"42"`: Int(42), `" 42 "`: Int(42), `42.0`: Int(42), `"4.2e1"`: Int(42), `-7`: Int(-7),
		`9223372036854775807`: Int(1<<63 - 1), `9223372036854775808`: {}, `1e30`: {}, `1.5`: {}, `"abc"`: {},
		`null`: {}, `true`: {}, `[]`: {}, `{}`: {}, `""`: {}, `"NaN"`: {}, `"Inf"`: {},
	} {
		i := Int(99)
		if err := json.Unmarshal([]byte(in), &i); err != nil || i != want {
			t.Errorf("%s → %+v, %v; want %+v", in, i, err, want)
		}
	}
	if b, _ := json.Marshal([]FlexInt{Int(3), {}}); string(b) != `[3,null]` {
		t.Errorf("marshal: %s", b)
	}
}

func TestFlexBool(t *testing.T) {
	for in, want := range map[string]FlexBool{
		`true`: Bool(true), `false`: Bool(false), `"TRUE"`: Bool(true), `" false "`: Bool(false), `"1"`: Bool(true),
		`"0"`: Bool(false), `1`: Bool(true), `0`: Bool(false), `1.0`: Bool(true),
		`null`: {}, `"yes"`: {}, `2`: {}, `[]`: {}, `{}`: {}, `""`: {},
	} {
		b := Bool(true)
		if err := json.Unmarshal([]byte(in), &b); err != nil || b != want {
			t.Errorf("%s → %+v, %v; want %+v", in, b, err, want)
		}
	}
}

func TestFlexTime(t *testing.T) {
	want := time.Date(2030, 1, 1, 0, 0, 0, 0, time.FixedZone("", 8*3600))
	for in, ok := range map[string]bool{
		`"2030-01-01T00:00:00+08:00"`: true, `" 2030-01-01T00:00:00+08:00 "`: true, `"2029-12-31T16:00:00Z"`: true,
		`"not a date"`: false, `1893456000`: false, `null`: false, `"2030-01-01 00:00:00"`: false,
	} {
		ft := FlexTime{Time: time.Unix(1, 0)}
		if err := json.Unmarshal([]byte(in), &ft); err != nil || ft.Equal(want) != ok || (!ok && !ft.IsZero()) {
			t.Errorf("%s → %v, %v", in, ft, err)
		}
	}
	b, _ := json.Marshal([]FlexTime{{Time: want}, {}})
	if string(b) != `["2029-12-31T16:00:00Z",null]` {
		t.Errorf("marshal: %s", b)
	}
}

// A license a server encodes decodes to the same license.
func TestLicenseRoundTrip(t *testing.T) {
	in := License{
		LicenseKey: "K", ApplicationName: "app", LicenseTypeName: "年度版", LicenseTypeDisplayName: "年度版",
		Status: "active", MaxUses: Int(0), CurrentUses: Int(3), MaxDevices: Int(1), CurrentDevices: Int(1),
		CustomField1: "500", CustomField2: "", CustomField3: "x",
		ExpiresAt:   FlexTime{Time: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)},
		ActivatedAt: "2026-01-02 03:04:05", Timezone: "UTC", ClientIP: "127.0.0.1",
	}
	body, err := json.Marshal(OK(MsgVerifyOK, &in))
	if err != nil {
		t.Fatal(err)
	}
	a, err := DecodeAnswer(body)
	if err != nil || !a.Success.V || !a.Success.Valid || string(a.Message) != MsgVerifyOK || a.License == nil {
		t.Fatalf("%s → %+v, %v", body, a, err)
	}
	got := *a.License
	got.Raw = nil
	if !got.ExpiresAt.Equal(in.ExpiresAt.Time) {
		t.Fatalf("expiresAt %v", got.ExpiresAt)
	}
	got.ExpiresAt = in.ExpiresAt
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, in)
	}
	var obj map[string]any
	if err := json.Unmarshal(a.License.Raw, &obj); err != nil || len(obj) != 16 {
		t.Fatalf("a server sends every field: %s", a.License.Raw)
	}
}

func TestDecodeAnswerShapes(t *testing.T) {
	for body, want := range map[string]error{"": ErrEmpty, "  ": ErrEmpty, "[1]": ErrNotObject, `"x"`: ErrNotObject,
		"<html>": ErrNotJSON, `{"success":true`: ErrNotJSON, "{}x": ErrNotJSON,
		"\v{}": ErrNotJSON, "\u00a0{}": ErrNotJSON, " \t\r\n{} \n": nil} {
		if _, err := DecodeAnswer([]byte(body)); !errors.Is(err, want) {
			t.Errorf("%q: %v, want %v", body, err, want)
		}
	}
	for _, body := range []string{`{"license":"nope"}`, `{"license":[1]}`, `{"license":null}`, `{"license":{},"license":7}`} {
		if a, err := DecodeAnswer([]byte(body)); err != nil || a.License != nil {
			t.Errorf("%s: license %+v, %v", body, a.License, err)
		}
	}
	a, err := DecodeAnswer([]byte(`{"success":true,"details":null,"token":true,"message":null}`))
	if err != nil || a.Details != nil || a.Token != "" || a.Message != "" {
		t.Errorf("nulls: %+v, %v", a, err)
	}
	a, _ = DecodeAnswer([]byte(`{"success":true,"success":"maybe"}`))
	if a.Success.Valid {
		t.Error("the last of a repeated field must win")
	}
	a, _ = DecodeAnswer([]byte(`{"token":1e2,"details":{"a":[1, 2]},"message":{"zh": "好"}}`))
	if a.Token != "1e2" || string(a.Details) != `{"a":[1, 2]}` || a.Message != `{"zh":"好"}` {
		t.Errorf("token/details/message: %+v", a)
	}
}

func TestValidate(t *testing.T) {
	long := string(bytes.Repeat([]byte("k"), MaxFieldLen+1))
	for _, tc := range []struct {
		req  VerifyRequest
		want string
	}{
		{VerifyRequest{"K", "M", "I"}, ""},
		{VerifyRequest{" ", "M", ""}, "missing_license_key"},
		{VerifyRequest{"K", "", ""}, "missing_machine_id"},
		{VerifyRequest{"K\n", "M", ""}, "invalid_field"},
		{VerifyRequest{long, "M", ""}, "invalid_field"},
		{VerifyRequest{"K", "M", "a\x7f"}, "invalid_field"},
	} {
		if got := tc.req.Validate(); (got == nil) != (tc.want == "") || (got != nil && got.Details != tc.want) {
			t.Errorf("%+v: %+v, want %q", tc.req, got, tc.want)
		}
	}
	for _, tc := range []struct {
		req  SwitchRequest
		want string
	}{
		{SwitchRequest{"K", "A", "B", "new disk"}, ""},
		{SwitchRequest{"", "A", "B", ""}, "missing_license_key"},
		{SwitchRequest{"K", "A", " ", ""}, "missing_machine_id"},
		{SwitchRequest{"K", "A", "B", "x\ty"}, "invalid_field"},
		{SwitchRequest{"K", "A", "A", ""}, "same_machine_id"},
	} {
		if got := tc.req.Validate(); (got == nil) != (tc.want == "") || (got != nil && got.Details != tc.want) {
			t.Errorf("%+v: %+v, want %q", tc.req, got, tc.want)
		}
	}
	if a := (SwitchRequest{"K", "A", "A", ""}).Validate().Answer(); a.Success != Bool(false) || a.DetailsCode() != "same_machine_id" {
		t.Errorf("answer %+v", a)
	}
}

func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{
		`{"success":true,"message":"ok","license":{"customField1":500,"maxUses":"7","expiresAt":"2030-01-01T00:00:00+08:00"},"token":"t"}`,
		`{"success":"FALSE","message":{"a":1},"details":[1],"license":"x"}`,
		`{"success":1,"license":{"maxUses":1e400,"currentUses":-0.0,"status":true}}`,
		`{"Success":true,"LICENSE":{}}`, `[]`, ``, `<html>`, "{\"message\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		a, err := DecodeAnswer(body)
		if !bytes.Equal(body, orig) {
			t.Fatal("DecodeAnswer modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrNotJSON) && !errors.Is(err, ErrNotObject) {
				t.Fatalf("error %v", err)
			}
			if json.Valid(body) && bytes.TrimSpace(body)[0] == '{' {
				t.Fatalf("a valid object refused: %v", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatal("invalid JSON accepted")
		}
		if a.Details != nil && !json.Valid(a.Details) {
			t.Fatalf("details %q", a.Details)
		}
		if !a.Success.Valid && a.Success.V {
			t.Fatal("an invalid verdict holds true")
		}
		if l := a.License; l != nil {
			if !json.Valid(l.Raw) || l.Raw[0] != '{' {
				t.Fatalf("raw %q", l.Raw)
			}
			if _, err := json.Marshal(l); err != nil {
				t.Fatalf("license does not encode: %v", err)
			}
		}
		again, _ := DecodeAnswer(body)
		if again.Success != a.Success || again.Message != a.Message || again.Token != a.Token || (again.License == nil) != (a.License == nil) {
			t.Fatal("not deterministic")
		}
	})
}
