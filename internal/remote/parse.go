package remote

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/licensehost/licensehost/engine"
)

// maxMessageRunes bounds a message taken from a response, so a hostile or
// broken server cannot fill the record and the UI with megabytes of text.
const maxMessageRunes = 1024

// ParseResponse classifies one HTTP answer of the license server (status code
// and the complete, already bounded body) and parses it leniently. It is pure:
// no I/O, no clock, no logging.
//
// A nil error means a trustworthy answer: an acceptance (2xx, success:true) or
// a definitive rejection (2xx or 4xx other than 408/429, success:false), both
// returned as a RemoteResult with HTTPStatus set. Anything else — a 5xx, a
// 1xx/3xx, a 408/429, a body that is not a JSON object or lacks a readable
// success field, a 4xx claiming success — is an error of type
// *engine.RemoteError with Definitive=false. docs/remote.md has the table.
func ParseResponse(status int, body []byte) (engine.RemoteResult, error) {
	env, jsonErr := decodeEnvelope(body)

	var data json.RawMessage
	if json.Valid(body) {
		data = json.RawMessage(bytes.Clone(body))
	}
	transient := func(msg string) (engine.RemoteResult, error) {
		if env != nil {
			if m := env.message(); m != "" {
				msg = m
			}
		}
		return engine.RemoteResult{}, &engine.RemoteError{HTTPStatus: status, Data: data, Message: msg}
	}

	switch {
	case status < 100 || status > 599:
		return transient(fmt.Sprintf("invalid HTTP status %d", status))
	case status >= 500:
		return transient(statusText(status))
	case status < 200 || (status >= 300 && status < 400):
		return transient("unexpected " + statusText(status))
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests:
		// Not a verdict on the key: the server asks to come back later.
		return transient(statusText(status))
	}
	if jsonErr != nil {
		if status >= 400 {
			return transient(fmt.Sprintf("%s with an unparseable body (%s)", statusText(status), jsonErr))
		}
		return transient("unparseable response body (" + jsonErr.Error() + ")")
	}
	success, ok := env.success()
	if !ok {
		return transient("response has no usable success field")
	}
	if success && status >= 400 {
		return transient(statusText(status) + " claiming success")
	}
	res := engine.RemoteResult{
		Success:    success,
		HTTPStatus: status,
		Message:    env.message(),
		Details:    env.raw("details"),
		License:    env.license(),
		Token:      env.token(),
		Body:       json.RawMessage(bytes.Clone(body)),
	}
	return res, nil
}

func statusText(status int) string {
	if t := http.StatusText(status); t != "" {
		return fmt.Sprintf("HTTP %d %s", status, t)
	}
	return fmt.Sprintf("HTTP %d", status)
}

// envelope is the top-level response object, field by field, undecoded.
type envelope map[string]json.RawMessage

// decodeEnvelope decodes body as a JSON object. Duplicate keys: the last wins.
func decodeEnvelope(body []byte) (envelope, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, errEmpty
	}
	if trimmed[0] != '{' {
		if json.Valid(trimmed) {
			return nil, errNotObject
		}
		return nil, errNotJSON
	}
	var env envelope
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return nil, errNotJSON
	}
	return env, nil
}

type parseError string

func (e parseError) Error() string { return string(e) }

const (
	errEmpty     parseError = "empty"
	errNotJSON   parseError = "not JSON"
	errNotObject parseError = "JSON but not an object"
)

// raw returns the field as received; nil when missing or null.
func (e envelope) raw(name string) json.RawMessage {
	v, ok := e[name]
	if !ok || isNull(v) {
		return nil
	}
	return json.RawMessage(bytes.Clone(v))
}

// success reads "success": a bool, the strings "true"/"false"/"1"/"0" (any
// case, trimmed), or the numbers 1/0. ok is false for anything else.
func (e envelope) success() (value, ok bool) {
	v, present := e["success"]
	if !present {
		return false, false
	}
	val, err := decodeValue(v)
	if err != nil {
		return false, false
	}
	switch x := val.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1":
			return true, true
		case "false", "0":
			return false, true
		}
	case json.Number:
		switch f, err := x.Float64(); {
		case err != nil:
		case f == 1:
			return true, true
		case f == 0:
			return false, true
		}
	}
	return false, false
}

func (e envelope) message() string {
	v, ok := e["message"]
	if !ok {
		return ""
	}
	return cleanMessage(stringify(v))
}

func (e envelope) token() string {
	v, ok := e["token"]
	if !ok {
		return ""
	}
	val, err := decodeValue(v)
	if err != nil {
		return ""
	}
	switch x := val.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

// license parses "license" when it is a JSON object; nil otherwise.
func (e envelope) license() *engine.License {
	v, ok := e["license"]
	if !ok {
		return nil
	}
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '{' {
		return nil
	}
	var obj envelope
	if err := json.Unmarshal(v, &obj); err != nil {
		return nil
	}
	lic := &engine.License{
		LicenseKey:             obj.str("licenseKey"),
		ApplicationName:        obj.str("applicationName"),
		LicenseTypeName:        obj.str("licenseTypeName"),
		LicenseTypeDisplayName: obj.str("licenseTypeDisplayName"),
		Status:                 obj.str("status"),
		MaxUses:                obj.int("maxUses"),
		CurrentUses:            obj.int("currentUses"),
		MaxDevices:             obj.int("maxDevices"),
		CurrentDevices:         obj.int("currentDevices"),
		CustomField1:           obj.str("customField1"),
		CustomField2:           obj.str("customField2"),
		CustomField3:           obj.str("customField3"),
		ExpiresAt:              obj.time("expiresAt"),
		ActivatedAt:            obj.str("activatedAt"),
		Timezone:               obj.str("timezone"),
		ClientIP:               obj.str("clientIP"),
		Raw:                    json.RawMessage(bytes.Clone(v)),
	}
	return lic
}

// str reads a scalar field as a string: strings as they are, numbers without
// exponent (500 → "500", 5e2 → "500"), booleans as "true"/"false". Missing,
// null, objects and arrays give "".
func (e envelope) str(name string) string {
	v, ok := e[name]
	if !ok {
		return ""
	}
	val, err := decodeValue(v)
	if err != nil {
		return ""
	}
	switch x := val.(type) {
	case string:
		return x
	case json.Number:
		return formatNumber(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// int reads an integer field given as a number or a numeric string ("42",
// " 42 ", 42.0, "4.2e1"). Missing, null, fractional, out-of-range or
// non-numeric values give nil.
func (e envelope) int(name string) *int64 {
	v, ok := e[name]
	if !ok {
		return nil
	}
	val, err := decodeValue(v)
	if err != nil {
		return nil
	}
	var s string
	switch x := val.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return &n
	}
	f, err := strconv.ParseFloat(s, 64)
	// 2^63 is exactly representable; anything at or beyond it overflows int64.
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || f >= 1<<63 || f < -(1<<63) {
		return nil
	}
	n := int64(f)
	return &n
}

// time reads an RFC 3339 timestamp; the zero time when missing or unparseable.
func (e envelope) time(name string) time.Time {
	s := strings.TrimSpace(e.str(name))
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func isNull(v json.RawMessage) bool {
	return string(bytes.TrimSpace(v)) == "null"
}

// composite stands for a JSON object or array in decodeValue's answer.
type composite struct{}

// decodeValue decodes one scalar JSON value — string, json.Number, bool or
// nil — and returns composite{} for an object or array. v comes out of an
// already validated document (json.Unmarshal into an envelope), so only
// strings need decoding; the rest is told by the first byte.
func decodeValue(v json.RawMessage) (any, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return nil, errEmpty
	}
	switch c := v[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, err
		}
		return s, nil
	case c == 't':
		return true, nil
	case c == 'f':
		return false, nil
	case c == 'n':
		return nil, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return json.Number(v), nil
	case c == '{' || c == '[':
		return composite{}, nil
	}
	return nil, errNotJSON
}

// stringify renders any JSON value as text: strings as they are, numbers
// without exponent, null as "", objects and arrays as compact JSON.
func stringify(v json.RawMessage) string {
	val, err := decodeValue(v)
	if err != nil {
		return ""
	}
	switch x := val.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return formatNumber(x)
	case bool:
		return strconv.FormatBool(x)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return ""
	}
	return buf.String()
}

// formatNumber renders a JSON number in plain decimal: integer literals as
// received, others through float64 without exponent (5e2 → "500", 1.50 →
// "1.5"). A number too large for float64 keeps its original text.
func formatNumber(n json.Number) string {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return s
	}
	if f == 0 {
		return "0" // also for -0
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// cleanMessage makes server text safe to store and show: valid UTF-8, no
// control characters but newlines and tabs turned to spaces, trimmed, bounded.
func cleanMessage(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxMessageRunes {
		s = string([]rune(s)[:maxMessageRunes]) + "…"
	}
	return s
}
