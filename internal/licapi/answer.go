package licapi

import "encoding/json"

// DecodeError is why DecodeAnswer could not read a body: ErrEmpty,
// ErrNotJSON or ErrNotObject.
type DecodeError string

func (e DecodeError) Error() string { return string(e) }

// The reasons of DecodeError.
const (
	ErrEmpty     DecodeError = "empty"
	ErrNotJSON   DecodeError = "not JSON"
	ErrNotObject DecodeError = "JSON but not an object"
)

// DecodeAnswer decodes a body as an Answer, leniently: every field is read by
// its lenient type and never fails, unknown fields are ignored, and of a
// repeated field the last wins. Field names match as encoding/json matches
// them (exact match first, then case-insensitively). The error is ErrEmpty,
// ErrNotJSON or ErrNotObject; nothing else fails.
func DecodeAnswer(body []byte) (Answer, error) {
	b := trimSpace(body)
	switch {
	case len(b) == 0:
		return Answer{}, ErrEmpty
	case b[0] != '{':
		if json.Valid(b) {
			return Answer{}, ErrNotObject
		}
		return Answer{}, ErrNotJSON
	}
	var a Answer
	if err := json.Unmarshal(b, &a); err != nil {
		return Answer{}, ErrNotJSON
	}
	if a.License != nil && a.License.Raw == nil {
		a.License = nil // "license" was not an object
	}
	if string(a.Details) == "null" {
		a.Details = nil
	}
	return a, nil
}

// Fail is a rejection: success false with a message and a stable English
// details code (e.g. "license_suspended").
func Fail(message, details string) Answer {
	a := Answer{Success: Bool(false), Message: Text(message)}
	if details != "" {
		a.Details, _ = json.Marshal(details)
	}
	return a
}

// OK is an acceptance carrying a license object.
func OK(message string, lic *License) Answer {
	return Answer{Success: Bool(true), Message: Text(message), License: lic}
}

// DetailsCode returns Details when it is a JSON string, else "".
func (a Answer) DetailsCode() string {
	var s string
	if json.Unmarshal(a.Details, &s) != nil {
		return ""
	}
	return s
}
