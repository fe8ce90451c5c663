package api_test

import (
	"context"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/licensehost/licensehost/api/openapigen"
	"github.com/licensehost/licensehost/internal/golden"
)

// api/openapi.json is generated from the Go declarations (api/openapigen):
// a type or an operation changed without regenerating the file fails here.
// go test ./api -run TestOpenAPI -update rewrites it.
func TestOpenAPI(t *testing.T) {
	want, err := openapigen.JSON("..")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the generated document is not valid OpenAPI 3: %v", err)
	}
	golden.Check(t, "openapi.json", want, "go test ./api -run TestOpenAPI -update")
}
