package ui

import (
	"os"
	"testing"
)

// TestMain pins the UI language to English so that tests do not depend on
// the developer's locale; the Chinese tests switch it themselves.
func TestMain(m *testing.M) {
	os.Setenv("LANGUAGE", "en_US")
	os.Setenv("LC_ALL", "en_US.UTF-8")
	os.Exit(m.Run())
}
