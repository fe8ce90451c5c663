package openapigen

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/api/apitest"
)

// thing is the declared answer of GET /thing.
type thing struct {
	State string     `json:"state" openapi:"enum=on|off"`
	Count int64      `json:"count"`
	Note  string     `json:"note,omitempty"`
	At    *time.Time `json:"at"`
	Tags  []string   `json:"tags" openapi:"nullable"`
}

// A handler whose answer drifts from its Go type fails validation against
// the document generated from that type; the faithful handler passes.
func TestHandlerDriftFails(t *testing.T) {
	doc, err := Document("../..", []api.Operation{{Method: http.MethodGet, Path: "/thing", Summary: "a thing",
		Responses: []api.Response{{Status: http.StatusOK, Description: "the thing", Bodies: []any{thing{}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	v, err := apitest.NewFor(b)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	handlers := map[string]any{
		"faithful":        thing{State: "on", Count: 3, At: &now, Tags: []string{"a"}},
		"faithful, nulls": thing{State: "off"},
		"extra field": struct {
			thing
			Tier string `json:"tier"`
		}{thing{State: "on"}, "gold"},
		"field renamed":     map[string]any{"state": "on", "counter": 3, "at": nil, "tags": nil},
		"required dropped":  map[string]any{"state": "on", "at": nil, "tags": nil},
		"wrong type":        map[string]any{"state": "on", "count": "3", "at": nil, "tags": nil},
		"outside the enum":  thing{State: "maybe"},
		"null not declared": map[string]any{"state": "on", "count": 3, "note": nil, "at": nil, "tags": nil},
	}
	for name, body := range handlers {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(body)
		}))
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/thing", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ts.Close()
		err = v.Check(req, resp.StatusCode, resp.Header, b)
		if strings.HasPrefix(name, "faithful") != (err == nil) {
			t.Errorf("%s: %s: validation error %v", name, b, err)
		}
	}
}

// The generated schema of a struct: required unless omitempty, closed,
// pointers nullable, tags applied.
func TestSchemaOfAStruct(t *testing.T) {
	doc, err := Document("../..", []api.Operation{{Method: http.MethodGet, Path: "/thing",
		Responses: []api.Response{{Status: http.StatusOK, Description: "the thing", Bodies: []any{thing{}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	s := doc.Components.Schemas["thing"].Value
	if got := strings.Join(s.Required, ","); got != "state,count,at,tags" {
		t.Errorf("required: %s", got)
	}
	if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
		t.Error("the object is not closed")
	}
	if !s.Properties["at"].Value.Nullable || s.Properties["note"].Value.Nullable || !s.Properties["tags"].Value.Nullable ||
		s.Properties["tags"].Value.Items.Value.Nullable {
		t.Errorf("nullable: at %v, note %v, tags %v", s.Properties["at"].Value.Nullable, s.Properties["note"].Value.Nullable, s.Properties["tags"].Value.Nullable)
	}
	if len(s.Properties["state"].Value.Enum) != 2 {
		t.Errorf("enum: %v", s.Properties["state"].Value.Enum)
	}
}
