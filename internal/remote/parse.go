package remote

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/licapi"
)

// maxMessageRunes bounds a message taken from a response, so a hostile or
// broken server cannot fill the record and the UI with megabytes of text.
const maxMessageRunes = 1024

// ParseResponse classifies one HTTP answer of the license server (status code
// and the complete, already bounded body) and decodes it leniently with
// licapi.DecodeAnswer. It is pure: no I/O, no clock, no logging.
//
// A nil error means a trustworthy answer: an acceptance (2xx, success:true) or
// a definitive rejection (2xx or 4xx other than 408/429, success:false), both
// returned as a RemoteResult with HTTPStatus set. Anything else — a 5xx, a
// 1xx/3xx, a 408/429, a body that is not a JSON object or lacks a readable
// success field, a 4xx claiming success — is an error of type
// *engine.RemoteError with Definitive=false. docs/remote.md has the table.
func ParseResponse(status int, body []byte) (engine.RemoteResult, error) {
	ans, decodeErr := licapi.DecodeAnswer(body)

	var data json.RawMessage
	if json.Valid(body) {
		data = json.RawMessage(bytes.Clone(body))
	}
	transient := func(msg string) (engine.RemoteResult, error) {
		if m := cleanMessage(string(ans.Message)); m != "" {
			msg = m
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
	if decodeErr != nil {
		if status >= 400 {
			return transient(fmt.Sprintf("%s with an unparseable body (%s)", statusText(status), decodeErr))
		}
		return transient("unparseable response body (" + decodeErr.Error() + ")")
	}
	if !ans.Success.Valid {
		return transient("response has no usable success field")
	}
	success := ans.Success.V
	if success && status >= 400 {
		return transient(statusText(status) + " claiming success")
	}
	res := engine.RemoteResult{
		Success:    success,
		HTTPStatus: status,
		Message:    cleanMessage(string(ans.Message)),
		Details:    ans.Details,
		License:    ans.License,
		Token:      string(ans.Token),
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
