// Package clitest helps the binaries' tests keep their documentation in
// step with their settings declarations (internal/cli).
package clitest

import (
	"os"
	"testing"

	"github.com/licensehost/licensehost/internal/cli"
)

// CheckTables fails t when the settings tables of the Markdown file at path
// (between "<!-- settings:NAME -->" and "<!-- /settings -->") differ from
// tables[NAME]; with update it rewrites them instead. Each binary's test
// passes its own -update flag and names it in cmd, the command that
// regenerates the file.
func CheckTables(t testing.TB, path string, tables map[string]string, update bool, cmd string) {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cli.UpdateTables(string(doc), tables)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if got == string(doc) {
		return
	}
	if !update {
		t.Fatalf("%s: the settings table differs from the declarations; run: %s", path, cmd)
	}
	if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
		t.Fatal(err)
	}
}
