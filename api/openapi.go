package api

import _ "embed"

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3 document of the local API, api/openapi.json:
// the one description of every route, request and answer, served at
// /openapi.json. The server's tests and the end-to-end tests validate every
// answer against it (api/apitest), so an answer that drifts from it fails
// a test. Adding a route or a field: edit the Go type here and the document
// beside it (docs/CONTRIBUTING.md).
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }
