package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/ui"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseConfig(t *testing.T) {
	c, err := parseConfig(nil, env(map[string]string{"HOME": "/h", "XDG_DATA_HOME": ""}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.HostURL != hostclient.DefaultBaseURL || c.Poll != 30*time.Second || c.Show != "" || c.LicenseURL != ui.DefaultLicenseURL {
		t.Errorf("defaults %+v", c)
	}
	if !strings.HasSuffix(c.TokenFile, "/licensehost/admin.token") {
		t.Errorf("token file %q", c.TokenFile)
	}

	e := env(map[string]string{"LICENSEHOST_URL": "http://127.0.0.1:9999", "LICENSEHOST_TOKEN_FILE": "/env/token", "LICENSEHOST_TRAY_POLL": "5s"})
	c, err = parseConfig(nil, e, io.Discard)
	if err != nil || c.HostURL != "http://127.0.0.1:9999" || c.TokenFile != "/env/token" || c.Poll != 5*time.Second {
		t.Errorf("env: %+v %v", c, err)
	}
	// Flags win over the environment.
	c, err = parseConfig([]string{"--host", "127.0.0.1:1", "--token-file", "/flag/token", "--poll", "1m", "--show", "activate"}, e, io.Discard)
	if err != nil || c.HostURL != "127.0.0.1:1" || c.TokenFile != "/flag/token" || c.Poll != time.Minute || c.tab() != ui.TabActivate {
		t.Errorf("flags: %+v %v", c, err)
	}

	for _, bad := range [][]string{{"--poll", "10ms"}, {"--show", "nope"}, {"--host", "ftp://x"}, {"extra"}, {"--nope"}} {
		if _, err := parseConfig(bad, e, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := parseConfig(nil, env(map[string]string{"LICENSEHOST_TRAY_POLL": "soon"}), io.Discard); err == nil {
		t.Error("bad LICENSEHOST_TRAY_POLL accepted")
	}
	if _, err := parseConfig([]string{"-h"}, e, io.Discard); !errors.Is(err, errHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestRunExitCodes(t *testing.T) {
	var out, errOut strings.Builder
	if code := run([]string{"--version"}, env(nil), &out, &errOut); code != 0 || !strings.Contains(out.String(), "licensehost-tray") {
		t.Errorf("--version: %d %q", code, out.String())
	}
	errOut.Reset()
	if code := run([]string{"--poll", "x"}, env(nil), &out, &errOut); code != 2 || strings.Count(strings.TrimSpace(errOut.String()), "\n") > 3 {
		t.Errorf("bad flag: %d %q", code, errOut.String())
	}
}

// TestTokenFallback: without --token-file, the tray reads the user's own
// admin token, else the packaged service's app token (docs/install.md).
func TestTokenFallback(t *testing.T) {
	home, system := t.TempDir(), t.TempDir()
	t.Setenv("XDG_DATA_HOME", home)
	old := systemAppToken
	systemAppToken = filepath.Join(system, "app.token")
	t.Cleanup(func() { systemAppToken = old })
	own := filepath.Join(home, "licensehost", "admin.token")
	tokenFile := func() string {
		t.Helper()
		c, err := parseConfig(nil, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return c.TokenFile
	}
	if got := tokenFile(); got != own {
		t.Errorf("no token anywhere: %s, want the user's %s", got, own)
	}
	if err := os.WriteFile(systemAppToken, []byte("x\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if got := tokenFile(); got != systemAppToken {
		t.Errorf("only the service's app token: %s, want %s", got, systemAppToken)
	}
	if err := os.MkdirAll(filepath.Dir(own), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(own, []byte("y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := tokenFile(); got != own {
		t.Errorf("both: %s, want the user's %s", got, own)
	}
}
