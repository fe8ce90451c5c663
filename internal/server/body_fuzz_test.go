package server_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/internal/server"
)

// FuzzQuotaBody posts arbitrary bodies to POST /api/quota/check and holds
// the server to what docs/api.md promises of a body: never a 500 or a
// panic, a refusal is a 400 or 413 with a message, and a body the server
// acts on (200 or 403) is one encoding/json's strict decoder also accepts,
// with the same values — the decoder the API used before encoding/json/v2
// and a reference for "unknown fields and trailing data refused". (The
// reverse does not hold on purpose: v2 also refuses duplicate names and
// names in another case; TestBodyWording.)
func FuzzQuotaBody(f *testing.F) {
	for _, s := range []string{
		`{"batch":5,"used":10}`, `{"batch":5}`, `{"batch":5,"resource":"seats"}`, ``, `{}`, `null`,
		`{"batch":1,"batch":2}`, `{"Batch":1}`, `{"batch":1,"size":2}`, `{"batch":1} {}`, `{"batch":"1"}`, `[1]`,
		`{"batch":1,"used":null}`, `{"batch":1e2}`, `{"batch":-1}`, "{\"resource\":\"\xff\"}",
		`{"batch":1,"resource":"\ud800"}`, `  {"batch":3}  `, `{"batch":9223372036854775807}`,
	} {
		f.Add(s)
	}
	s := newAPI(f, testEngine(f, nil), server.Options{AdminToken: adminToken})
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, api.PathQuotaCheck, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+adminToken)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		var answer map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
			t.Fatalf("%d: answer is not JSON: %q", w.Code, w.Body)
		}
		switch w.Code {
		case http.StatusOK, http.StatusForbidden:
			if _, ok := answer["allowed"].(bool); !ok {
				t.Fatalf("%d without allowed: %v", w.Code, answer)
			}
			var v2, v1 api.QuotaCheckRequest
			if err := strictV1(body, &v1); err != nil {
				t.Fatalf("acted on %q, which encoding/json refuses: %v", body, err)
			}
			if strings.TrimSpace(body) == "" {
				body = "{}"
			}
			if err := jsonv2.Unmarshal([]byte(body), &v2, jsonv2.RejectUnknownMembers(true)); err != nil {
				t.Fatalf("acted on %q, which encoding/json/v2 refuses: %v", body, err)
			}
			if v1.Batch != v2.Batch || v1.Resource != v2.Resource || (v1.Used == nil) != (v2.Used == nil) ||
				(v1.Used != nil && *v1.Used != *v2.Used) {
				t.Fatalf("%q: encoding/json reads %+v, the server acted on %+v", body, v1, v2)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if msg, _ := answer["message"].(string); msg == "" || answer["success"] != false {
				t.Fatalf("%d without a message: %v", w.Code, answer)
			}
		default:
			t.Fatalf("%q: status %d %v", body, w.Code, answer)
		}
	})
}

// strictV1 is the API's decoding before encoding/json/v2.
func strictV1(body string, v any) error {
	if strings.TrimSpace(body) == "" {
		body = "{}"
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}
