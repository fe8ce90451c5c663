package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/licensehost/licensehost/api"
)

// openAPIDoc returns the document served at /openapi.json: api.OpenAPI,
// without /metrics when metrics are off.
func openAPIDoc(metrics bool) ([]byte, error) {
	doc := api.OpenAPI()
	if metrics {
		return doc, nil
	}
	var m map[string]json.RawMessage
	var paths map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, fmt.Errorf("server: api/openapi.json: %w", err)
	}
	if err := json.Unmarshal(m["paths"], &paths); err != nil {
		return nil, fmt.Errorf("server: api/openapi.json paths: %w", err)
	}
	delete(paths, api.PathMetrics)
	var err error
	if m["paths"], err = json.Marshal(paths); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(s.doc)))
	_, _ = w.Write(s.doc)
	return nil
}
