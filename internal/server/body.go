package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/licensehost/licensehost/api"
)

// Request bodies are decoded by encoding/json/v2 (the module that mirrors
// it until Go 1.27 makes it standard): in one pass, where encoding/json's
// Decoder scans the body for validity first and then again to decode, with
// a quarter of the allocations — a few microseconds of every quota check
// (docs/benchmarks.md, the real binary against a bare handler). It refuses what the API always refused
// (unknown members, trailing data, invalid UTF-8) and, as api/openapi.json
// has always said, member names in another case ("Batch") and a member
// named twice: encoding/json matched names whatever their case and kept the
// last of two, so a proxy that read the first saw another request than the
// engine acted on (docs/api.md).
var strictJSON = json.RejectUnknownMembers(true)

// decode reads a bounded JSON body into v, refusing unknown fields,
// duplicate fields and trailing data. An empty body decodes as {}. The
// Content-Type is not checked: `curl -d` sends a form type with a JSON body,
// and that is fine.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	data, err := readBody(http.MaxBytesReader(w, r.Body, api.MaxBodyBytes), r.ContentLength)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &httpError{http.StatusRequestEntityTooLarge, "too_large", "request body exceeds 1 MiB"}
		}
		return badRequest("could not read the request body: %v", err)
	}
	if !utf8.Valid(data) {
		// Said plainly rather than as the decoder's offset: a client that
		// sent Latin-1 learns what to fix.
		return badRequest("invalid JSON body: not valid UTF-8")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	if err := json.Unmarshal(data, v, strictJSON); err != nil {
		return badRequest("invalid JSON body: %s", jsonProblem(err))
	}
	return nil
}

// jsonProblem says what is wrong with a body in the API's terms: the field
// by its JSON name and the kind of value it takes, never a Go type name.
func jsonProblem(err error) string {
	var se *json.SemanticError
	if !errors.As(err, &se) {
		return strings.TrimPrefix(err.Error(), "jsontext: ")
	}
	at := se.JSONPointer
	switch {
	case errors.Is(se.Err, json.ErrUnknownName):
		if parent := at.Parent(); parent != "" {
			return fmt.Sprintf("unknown field %q in %q", at.LastToken(), string(parent))
		}
		return fmt.Sprintf("unknown field %q", at.LastToken())
	case at == "":
		return fmt.Sprintf("the body must be %s, not %s", valueKind(se.GoType), jsonKind(se.JSONKind))
	}
	msg := fmt.Sprintf("field %q must be %s", string(at), valueKind(se.GoType))
	if se.JSONKind != 0 {
		msg += ", not " + jsonKind(se.JSONKind)
	}
	if se.Err != nil {
		msg += " (" + se.Err.Error() + ")"
	}
	return msg
}

// valueKind names what a Go type accepts in JSON words.
func valueKind(t reflect.Type) string {
	if t == nil {
		return "a JSON value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "a JSON value"
}

// jsonKind names the kind of JSON value a client sent.
func jsonKind(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "this value"
}

// readBody reads body whole, like io.ReadAll, into a buffer sized by the
// declared length when that is small (a quota request is a few dozen bytes;
// ReadAll would start at 512). A larger declared length is not trusted for
// the first allocation: the buffer grows with what arrives.
func readBody(body io.Reader, declared int64) ([]byte, error) {
	size := 512
	if declared >= 0 && declared < 4096 {
		size = int(declared) + 1 // room to read the EOF without growing
	}
	b := make([]byte, 0, size)
	for {
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
