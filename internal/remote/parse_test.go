package remote

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/licapi"
	"github.com/licensehost/licensehost/internal/remotetest"
)

const seedSuccess = remotetest.ExampleAnswer

func TestParseSeedSuccess(t *testing.T) {
	res, err := ParseResponse(200, []byte(seedSuccess))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Success || res.HTTPStatus != 200 || res.Message != "密钥验证成功" || res.Token != "optional-jwt-or-session" {
		t.Fatalf("result: %+v", res)
	}
	l := res.License
	want := licapi.License{
		LicenseKey: "my-license-key-0001", ApplicationName: "密钥管理系统", LicenseTypeName: "终生赞助版",
		LicenseTypeDisplayName: "终生赞助版", Status: "active", MaxUses: licapi.Int(999999), CurrentUses: licapi.Int(8),
		MaxDevices: licapi.Int(1), CurrentDevices: licapi.Int(2), CustomField1: "500", CustomField2: "100", CustomField3: "10",
		ExpiresAt: licapi.FlexTime{Time: time.Date(2125, 7, 16, 8, 29, 19, 0, time.UTC)}, ActivatedAt: "2025-08-09 08:29:19",
		Timezone: "UTC", ClientIP: "1.2.3.4",
	}
	got := *l
	got.Raw = nil
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) || !got.ExpiresAt.Equal(want.ExpiresAt.Time) {
		t.Fatalf("license:\n got %s\nwant %s", gj, wj)
	}
	var raw map[string]any
	if err := json.Unmarshal(l.Raw, &raw); err != nil || raw["clientIP"] != "1.2.3.4" {
		t.Fatalf("Raw: %s (%v)", l.Raw, err)
	}
	if !bytes.Equal(res.Body, []byte(seedSuccess)) {
		t.Fatal("Body is not the body as received")
	}
}

func TestParseLenientLicense(t *testing.T) {
	body := `{"success":"true","message":{"zh":"好"},"details":[1,"x"],"token":12,
	  "license":{"customField1":500,"customField2":5e2,"customField3":1.50,
	  "maxUses":"42","currentUses":42.0,"maxDevices":"abc","currentDevices":1.5,
	  "licenseKey":null,"status":true,"applicationName":{"a":1},
	  "expiresAt":"not a date","timezone":["UTC"]}}`
	res, err := ParseResponse(200, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	l := res.License
	checks := []struct{ name, got, want string }{
		{"message", res.Message, `{"zh":"好"}`},
		{"details", string(res.Details), `[1,"x"]`},
		{"token", res.Token, "12"},
		{"customField1", string(l.CustomField1), "500"},
		{"customField2", string(l.CustomField2), "500"},
		{"customField3", string(l.CustomField3), "1.5"},
		{"licenseKey", string(l.LicenseKey), ""},
		{"status", string(l.Status), "true"},
		{"applicationName", string(l.ApplicationName), ""},
		{"timezone", string(l.Timezone), ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !res.Success {
		t.Error(`success "true" not accepted`)
	}
	if l.MaxUses != licapi.Int(42) || l.CurrentUses != licapi.Int(42) {
		t.Errorf("maxUses/currentUses: %v %v", l.MaxUses, l.CurrentUses)
	}
	if l.MaxDevices.Valid || l.CurrentDevices.Valid {
		t.Errorf("bad numbers should be nil: %v %v", l.MaxDevices, l.CurrentDevices)
	}
	if !l.ExpiresAt.IsZero() {
		t.Errorf("unparseable expiresAt = %v", l.ExpiresAt)
	}
}

func TestParseNumbersWithoutExponent(t *testing.T) {
	for in, want := range map[string]string{
		`500`: "500", `5e2`: "500", `1E3`: "1000", `1e21`: "1000000000000000000000", `0.5`: "0.5",
		`-0.0`: "0", `12345678901234567890123`: "12345678901234567890123", `1e400`: "1e400", `"007"`: "007",
	} {
		res, err := ParseResponse(200, []byte(`{"success":true,"license":{"customField1":`+in+`}}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(res.License.CustomField1); got != want {
			t.Errorf("customField1 %s = %q, want %q", in, got, want)
		}
	}
}

func TestParseSuccessValues(t *testing.T) {
	for in, want := range map[string]bool{
		`true`: true, `false`: false, `"true"`: true, `"FALSE"`: false, `" true "`: true,
		`1`: true, `0`: false, `1.0`: true, `"1"`: true, `"0"`: false,
	} {
		res, err := ParseResponse(200, []byte(`{"success":`+in+`}`))
		if err != nil || res.Success != want {
			t.Errorf("success %s: got %v, %v; want %v", in, res.Success, err, want)
		}
	}
	for _, in := range []string{`null`, `"yes"`, `2`, `[]`, `{}`, `""`} {
		if _, err := ParseResponse(200, []byte(`{"success":`+in+`}`)); err == nil {
			t.Errorf("success %s accepted", in)
		}
	}
	if _, err := ParseResponse(200, []byte(`{"message":"ok"}`)); err == nil {
		t.Error("missing success accepted")
	}
}

func TestParseClassification(t *testing.T) {
	const fail = `{"success":false,"message":"密钥不存在","details":"x"}`
	const ok = `{"success":true,"message":"fine"}`
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		verdict  bool // nil error
		success  bool
		wantMsg  string
		wantData bool // RemoteError.Data set
	}{
		{"2xx success", 200, ok, true, true, "fine", false},
		{"201 success", 201, ok, true, true, "fine", false},
		{"2xx success:false", 200, fail, true, false, "密钥不存在", false},
		{"404 success:false", 404, fail, true, false, "密钥不存在", false},
		{"403 success:false", 403, fail, true, false, "密钥不存在", false},
		{"400 success:false", 400, fail, true, false, "密钥不存在", false},
		{"404 plain text", 404, "404 page not found", false, false, "HTTP 404 Not Found with an unparseable body (not JSON)", false},
		{"403 JSON without success", 403, `{"error":"forbidden"}`, false, false, "response has no usable success field", true},
		{"403 claiming success", 403, ok, false, false, "fine", true},
		{"429 success:false", 429, fail, false, false, "密钥不存在", true},
		{"408 no body", 408, "", false, false, "HTTP 408 Request Timeout", false},
		{"500 JSON", 500, fail, false, false, "密钥不存在", true},
		{"503 empty", 503, "", false, false, "HTTP 503 Service Unavailable", false},
		{"502 html", 502, "<html>", false, false, "HTTP 502 Bad Gateway", false},
		{"200 garbage", 200, "<html>", false, false, "unparseable response body (not JSON)", false},
		{"200 empty", 200, "", false, false, "unparseable response body (empty)", false},
		{"200 array", 200, "[1]", false, false, "unparseable response body (JSON but not an object)", true},
		{"200 truncated", 200, `{"success":true`, false, false, "unparseable response body (not JSON)", false},
		{"200 led by a vertical tab", 200, "\v{\"success\":true}", false, false, "unparseable response body (not JSON)", false},
		{"302", 302, ok, false, false, "fine", true},
		{"302 empty", 302, "", false, false, "unexpected HTTP 302 Found", false},
		{"status 0", 0, ok, false, false, "fine", true},
		{"status 700", 700, "", false, false, "invalid HTTP status 700", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ParseResponse(tc.status, []byte(tc.body))
			if tc.verdict {
				if err != nil {
					t.Fatalf("err = %v, want a verdict", err)
				}
				if res.Success != tc.success || res.HTTPStatus != tc.status || res.Message != tc.wantMsg {
					t.Fatalf("result %+v", res)
				}
				return
			}
			re, ok := engine.AsRemoteError(err)
			if !ok {
				t.Fatalf("err = %v (%T), want *engine.RemoteError; result %+v", err, err, res)
			}
			if re.Definitive || re.HTTPStatus != tc.status || re.Message != tc.wantMsg || (re.Data != nil) != tc.wantData {
				t.Fatalf("RemoteError %+v (data %s)", re, re.Data)
			}
		})
	}
}

func TestParseMessageBounded(t *testing.T) {
	long := strings.Repeat("长", 5000)
	res, err := ParseResponse(403, []byte(`{"success":false,"message":"a\u0000b\n`+long+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(res.Message); n != maxMessageRunes+1 || !strings.HasPrefix(res.Message, "ab 长") {
		t.Fatalf("message of %d runes: %.20q", n, res.Message)
	}
}

var fuzzSeeds = []struct {
	status int
	body   string
}{
	{200, seedSuccess},
	{200, `{"success":"true","license":{"customField1":500,"maxUses":"7","expiresAt":"2030-01-01T00:00:00+08:00"}}`},
	{404, `{"success":false,"message":"密钥不存在","details":"..."}`},
	{403, `{"success":false,"message":"密钥已被暂停","details":{"a":[1,2]}}`},
	{503, `{"success":false,"message":"down"}`},
	{200, `<html>`},
	{200, ``},
	{200, `{"success":1,"license":"nope","token":null,"message":null}`},
	{200, `{"success":true,"license":{"customField1":1e400,"maxUses":1e30,"currentUses":-0.0}}`},
	{302, `{}`},
	{0, `null`},
	{429, `{"success":false}`},
	{200, "{\"success\":true,\"message\":\"\xff\xfe\"}"},
	{200, "\v{\"success\":true}"}, // not JSON: \v is no JSON white space
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s.status, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		orig := bytes.Clone(body)
		res, err := ParseResponse(status, body)
		if !bytes.Equal(body, orig) {
			t.Fatal("ParseResponse modified its input")
		}
		res2, err2 := ParseResponse(status, body)
		if (err == nil) != (err2 == nil) || res.Success != res2.Success || res.Message != res2.Message {
			t.Fatal("ParseResponse is not deterministic")
		}
		if err != nil {
			re, ok := err.(*engine.RemoteError)
			if !ok {
				t.Fatalf("error %T, want *engine.RemoteError", err)
			}
			if re.Definitive || re.HTTPStatus != status || re.Message == "" || !utf8.ValidString(re.Message) {
				t.Fatalf("bad RemoteError %+v", re)
			}
			if re.Data != nil && !json.Valid(re.Data) {
				t.Fatalf("Data is not JSON: %q", re.Data)
			}
			if res.Success || res.HTTPStatus != 0 || res.License != nil {
				t.Fatalf("result with an error: %+v", res)
			}
			return
		}
		// A verdict: a JSON object answered with 2xx or 4xx.
		if res.HTTPStatus != status || status < 200 || status >= 500 || (status >= 300 && status < 400) {
			t.Fatalf("verdict with status %d (HTTPStatus %d)", status, res.HTTPStatus)
		}
		if res.Success && status >= 300 {
			t.Fatalf("success with status %d", status)
		}
		if !bytes.Equal(res.Body, body) || !json.Valid(res.Body) {
			t.Fatal("Body is not the valid JSON body as received")
		}
		if !utf8.ValidString(res.Message) || utf8.RuneCountInString(res.Message) > maxMessageRunes+1 {
			t.Fatalf("bad message %q", res.Message)
		}
		if res.Details != nil && !json.Valid(res.Details) {
			t.Fatalf("Details is not JSON: %q", res.Details)
		}
		if l := res.License; l != nil {
			if !json.Valid(l.Raw) || bytes.TrimSpace(l.Raw)[0] != '{' {
				t.Fatalf("License.Raw is not an object: %q", l.Raw)
			}
			if _, err := json.Marshal(l); err != nil {
				t.Fatalf("License does not marshal: %v", err)
			}
		}
	})
}

func BenchmarkParseResponse(b *testing.B) {
	for _, bc := range []struct {
		name   string
		status int
		body   string
	}{
		{"success", 200, seedSuccess},
		{"rejection", 404, `{"success":false,"message":"密钥不存在","details":"..."}`},
		{"garbage", 200, "<html><body>Bad Gateway</body></html>"},
	} {
		body := []byte(bc.body)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				_, _ = ParseResponse(bc.status, body)
			}
		})
	}
}
