package main

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"

	"github.com/licensehost/licensehost/internal/cli/clitest"
)

var update = flag.Bool("update", false, "rewrite the settings table of docs/tray.md from the declarations")

// docs/tray.md's settings table is generated from traySettings (go test
// ./cmd/tray -run TestDocsSettings -update).
func TestDocsSettings(t *testing.T) {
	clitest.CheckTables(t, filepath.Join("..", "..", "docs", "tray.md"), map[string]string{
		"licensehost-tray": traySettings(pflag.NewFlagSet("t", pflag.ContinueOnError), &config{}).MarkdownTable(),
	}, *update, "go test ./cmd/tray -run TestDocsSettings -update")
}
