package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"

	"github.com/licensehost/licensehost/internal/cli"
)

var update = flag.Bool("update", false, "rewrite the settings table of docs/tray.md from the declarations")

// docs/tray.md's settings table is generated from traySettings (go test
// ./cmd/tray -run TestDocsSettings -update).
func TestDocsSettings(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "tray.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	table := traySettings(pflag.NewFlagSet("t", pflag.ContinueOnError), &config{}).MarkdownTable()
	got, err := cli.UpdateTables(string(doc), map[string]string{"licensehost-tray": table})
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
	t.Fatal("docs/tray.md's settings table differs from cmd/tray/settings.go; run: go test ./cmd/tray -run TestDocsSettings -update")
}
