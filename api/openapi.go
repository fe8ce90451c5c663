package api

import _ "embed"

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3 document of the local API, api/openapi.json:
// the description of every route, request and answer, served at
// /openapi.json. It is generated from api.Operations and the api types
// (api/openapigen) and committed; TestOpenAPI fails until it is
// regenerated (go test ./api -run TestOpenAPI -update). The server's tests
// and the end-to-end tests validate every answer against it (api/apitest),
// so an answer that drifts from its type fails a test (docs/CONTRIBUTING.md).
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }
