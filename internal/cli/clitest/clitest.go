// Package clitest helps the binaries' tests keep their documentation in
// step with their settings declarations (internal/cli).
package clitest

import (
	"os"
	"testing"

	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/internal/golden"
)

// CheckTables fails t when the settings tables of the Markdown file at path
// (between "<!-- settings:NAME -->" and "<!-- /settings -->") differ from
// tables[NAME]; with -update it rewrites them instead (internal/golden).
// cmd is the command that regenerates the file.
func CheckTables(t testing.TB, path string, tables map[string]string, cmd string) {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := cli.UpdateTables(string(doc), tables)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	golden.Check(t, path, []byte(want), cmd)
}
