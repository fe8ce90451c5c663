package main

import (
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"

	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/internal/cli/clitest"
)

// docs/licensed.md's settings table is generated from dataDirSetting and
// serveSettings (go test ./cmd/licensed -run TestDocsSettings -update).
func TestDocsSettings(t *testing.T) {
	var dir string
	clitest.CheckTables(t, filepath.Join("..", "..", "docs", "licensed.md"), map[string]string{
		"licensed": cli.MarkdownTable(dataDirSetting(pflag.NewFlagSet("d", pflag.ContinueOnError), &dir),
			serveSettings(pflag.NewFlagSet("s", pflag.ContinueOnError), &serveConfig{})),
	}, "go test ./cmd/licensed -run TestDocsSettings -update")
}
