package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/licensehost/licensehost/ui"
)

// Icon.png (FyneApp.toml's icon, used by the fyne packaging tool) is drawn
// by ui.AppIconPNG; regenerate it with LICENSEHOST_UPDATE_ICON=1 go test
// -run AppIcon ./cmd/tray.
func TestAppIconUpToDate(t *testing.T) {
	want := ui.AppIconPNG(256)
	if os.Getenv("LICENSEHOST_UPDATE_ICON") == "1" {
		if err := os.WriteFile("Icon.png", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("Icon.png")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("cmd/tray/Icon.png is stale: LICENSEHOST_UPDATE_ICON=1 go test -run AppIcon ./cmd/tray")
	}
}
