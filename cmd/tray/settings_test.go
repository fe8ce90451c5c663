package main

import (
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"

	"github.com/licensehost/licensehost/internal/cli/clitest"
)

// docs/tray.md's settings table is generated from traySettings (go test
// ./cmd/tray -run TestDocsSettings -update).
func TestDocsSettings(t *testing.T) {
	clitest.CheckTables(t, filepath.Join("..", "..", "docs", "tray.md"), map[string]string{
		"licensehost-tray": traySettings(pflag.NewFlagSet("t", pflag.ContinueOnError), &config{}).MarkdownTable(),
	}, "go test ./cmd/tray -run TestDocsSettings -update")
}
