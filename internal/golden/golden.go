// Package golden keeps a generated, committed file in step with the
// declarations it is made from (the settings tables of README.md and
// docs/, api/openapi.json): the test that owns the file regenerates its
// content and calls Check, which fails while the file lags behind and, run
// with -update, rewrites it (docs/CONTRIBUTING.md).
package golden

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated files (README.md and docs/ settings tables, api/openapi.json) from their declarations")

// Check fails t when the file at path differs from want, naming cmd, the
// command that regenerates it; with -update it writes want instead.
func Check(t testing.TB, path string, want []byte, cmd string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil && !(*update && os.IsNotExist(err)) {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		return
	}
	if !*update {
		t.Fatalf("%s is not what its declarations make; run: %s", path, cmd)
	}
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
}
