package licapi

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// The lenient scalar types of the contract. A license server may send any
// field missing, null, or as the other JSON type (500 for "500" and back);
// each type's UnmarshalJSON reads what it can and never returns an error, so
// one odd field never loses the rest of an answer. Each decodes from the
// already validated JSON value encoding/json hands it.

// FlexString is a text field: a string as it is, a number in plain decimal
// (5e2 → "500", 1.50 → "1.5"), a bool as "true"/"false". Null, objects and
// arrays give "".
type FlexString string

// UnmarshalJSON implements json.Unmarshaler.
func (s *FlexString) UnmarshalJSON(b []byte) error {
	*s = ""
	switch v := scalar(b).(type) {
	case string:
		*s = FlexString(v)
	case json.Number:
		*s = FlexString(formatNumber(v))
	case bool:
		*s = FlexString(strconv.FormatBool(v))
	}
	return nil
}

// FlexInt is an integer field given as a number or a numeric string ("42",
// " 42 ", 42.0, "4.2e1"). Missing, null, fractional, out-of-range or
// non-numeric values leave it invalid; an invalid FlexInt encodes as null.
type FlexInt struct {
	N     int64
	Valid bool
}

// Int returns a valid FlexInt holding n.
func Int(n int64) FlexInt { return FlexInt{N: n, Valid: true} }

// Ptr returns the value, or nil when invalid.
func (i FlexInt) Ptr() *int64 {
	if !i.Valid {
		return nil
	}
	n := i.N
	return &n
}

// UnmarshalJSON implements json.Unmarshaler.
func (i *FlexInt) UnmarshalJSON(b []byte) error {
	*i = FlexInt{}
	var s string
	switch v := scalar(b).(type) {
	case json.Number:
		s = string(v)
	case string:
		s = strings.TrimSpace(v)
	default:
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*i = Int(n)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	// 2^63 is exactly representable; anything at or beyond it overflows int64.
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || f >= 1<<63 || f < -(1<<63) {
		return nil
	}
	*i = Int(int64(f))
	return nil
}

// MarshalJSON implements json.Marshaler.
func (i FlexInt) MarshalJSON() ([]byte, error) {
	if !i.Valid {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, i.N, 10), nil
}

// FlexBool is a verdict field: a bool, the strings "true"/"false"/"1"/"0"
// (any case, trimmed) or the numbers 1/0. Anything else leaves it invalid.
type FlexBool struct {
	V     bool
	Valid bool
}

// Bool returns a valid FlexBool holding v.
func Bool(v bool) FlexBool { return FlexBool{V: v, Valid: true} }

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexBool) UnmarshalJSON(b []byte) error {
	*f = FlexBool{}
	switch v := scalar(b).(type) {
	case bool:
		*f = Bool(v)
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "1":
			*f = Bool(true)
		case "false", "0":
			*f = Bool(false)
		}
	case json.Number:
		switch n, err := v.Float64(); {
		case err != nil:
		case n == 1:
			*f = Bool(true)
		case n == 0:
			*f = Bool(false)
		}
	}
	return nil
}

// MarshalJSON implements json.Marshaler; an invalid FlexBool encodes as null.
func (f FlexBool) MarshalJSON() ([]byte, error) {
	if !f.Valid {
		return []byte("null"), nil
	}
	return strconv.AppendBool(nil, f.V), nil
}

// FlexTime is an RFC 3339 timestamp; the zero time when missing, null or
// unparseable (read as FlexString, so a number is unparseable). The zero
// FlexTime encodes as null.
type FlexTime struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *FlexTime) UnmarshalJSON(b []byte) error {
	*t = FlexTime{}
	var s FlexString
	_ = s.UnmarshalJSON(b)
	v, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(s)))
	if err == nil {
		t.Time = v
	}
	return nil
}

// MarshalJSON implements json.Marshaler: RFC 3339 in UTC to the second, or
// null.
func (t FlexTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339))
}

// Text is a message field: any JSON value rendered as text — strings as they
// are, numbers in plain decimal, bools as "true"/"false", null as "", objects
// and arrays as compact JSON.
type Text string

// UnmarshalJSON implements json.Unmarshaler.
func (t *Text) UnmarshalJSON(b []byte) error {
	if _, ok := scalar(b).(composite); ok {
		var buf bytes.Buffer
		*t = ""
		if json.Compact(&buf, b) == nil {
			*t = Text(buf.String())
		}
		return nil
	}
	var s FlexString
	_ = s.UnmarshalJSON(b)
	*t = Text(s)
	return nil
}

// Token is the token field: a string as it is, a number as its literal
// text. Anything else gives "".
type Token string

// UnmarshalJSON implements json.Unmarshaler.
func (t *Token) UnmarshalJSON(b []byte) error {
	*t = ""
	switch v := scalar(b).(type) {
	case string:
		*t = Token(v)
	case json.Number:
		*t = Token(v)
	}
	return nil
}

// composite stands for a JSON object or array in scalar's answer.
type composite struct{}

// scalar returns one JSON value as a string, json.Number, bool or nil (null),
// or composite{} for an object or array; nil also for anything unreadable.
// b comes out of a document encoding/json has already validated, so only
// strings need decoding; the rest is told by the first byte.
func scalar(b []byte) any {
	b = trimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch c := b[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(b, &s) != nil {
			return nil
		}
		return s
	case c == 't':
		return true
	case c == 'f':
		return false
	case c == '-' || (c >= '0' && c <= '9'):
		return json.Number(b)
	case c == '{' || c == '[':
		return composite{}
	}
	return nil
}

// trimSpace trims JSON's white space (space, tab, CR, LF) and nothing else:
// a body led by a vertical tab or a no-break space is not JSON.
func trimSpace(b []byte) []byte { return bytes.Trim(b, " \t\r\n") }

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
