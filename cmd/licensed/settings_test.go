package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"

	"github.com/licensehost/licensehost/internal/cli"
)

var update = flag.Bool("update", false, "rewrite the settings table of docs/licensed.md from the declarations")

// docs/licensed.md's settings table is generated from dataDirSetting and
// serveSettings (go test ./cmd/licensed -run TestDocsSettings -update).
func TestDocsSettings(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "licensed.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var dir string
	table := cli.MarkdownTable(dataDirSetting(pflag.NewFlagSet("d", pflag.ContinueOnError), &dir),
		serveSettings(pflag.NewFlagSet("s", pflag.ContinueOnError), &serveConfig{}))
	got, err := cli.UpdateTables(string(doc), map[string]string{"licensed": table})
	if err != nil {
		t.Fatal(err)
	}
	if got == string(doc) {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("docs/licensed.md's settings table differs from cmd/licensed/settings.go; run: go test ./cmd/licensed -run TestDocsSettings -update")
}
