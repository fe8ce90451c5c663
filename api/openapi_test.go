package api_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/api/openapigen"
)

var update = flag.Bool("update", false, "rewrite api/openapi.json from api.Operations and the api types")

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
	if *update {
		if err := os.WriteFile("openapi.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(api.OpenAPI(), want) {
		t.Fatal("api/openapi.json is not what the api types and api.Operations declare: run go test ./api -run TestOpenAPI -update")
	}
}
