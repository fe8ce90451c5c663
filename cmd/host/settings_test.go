package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/internal/cli/clitest"
)

// README.md's settings tables are generated from daemonSettings and
// clientSettings; this test fails when they drift (go test ./cmd/host -run
// TestREADMESettings -update rewrites them).
func TestREADMESettings(t *testing.T) {
	clitest.CheckTables(t, filepath.Join("..", "..", "README.md"), map[string]string{
		"licensehost":        daemonSettings(pflag.NewFlagSet("d", pflag.ContinueOnError), &daemonConfig{}).MarkdownTable(),
		"licensehost-client": clientSettings(pflag.NewFlagSet("c", pflag.ContinueOnError), &clientConfig{}).MarkdownTable(),
	}, "go test ./cmd/host -run TestREADMESettings -update")
}

// parseDaemon parses args and env the way `licensehost [flags]` does.
func parseDaemon(t *testing.T, args []string, env map[string]string) (daemonConfig, error) {
	t.Helper()
	var c daemonConfig
	fs := pflag.NewFlagSet("licensehost", pflag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	s := daemonSettings(fs, &c)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, c.complete(s, func(k string) string { return env[k] })
}

func TestDaemonSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	// Defaults.
	c, err := parseDaemon(t, []string{"--data-dir", dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:7474" || c.Engine.Trust != 7*24*time.Hour || c.Engine.Grace != 15*24*time.Hour ||
		c.Engine.MaxFailures != 10 || !c.Engine.AllowOfflineTrust || c.Engine.CommunityTotal != 200 ||
		c.Engine.GraceLimitedBatch != 20 || c.RemoteTimeout != 15*time.Second || c.TokenFile != filepath.Join(dir, "admin.token") ||
		c.LogFormat != "text" || c.LogLevel != "info" {
		t.Fatalf("defaults: %+v", c)
	}

	// A config file, the environment (the seed's SPONSOR_* names) and flags:
	// a flag wins over the environment, which wins over the file.
	conf := filepath.Join(dir, "licensehost.toml")
	os.WriteFile(conf, []byte("trust = 3\ngrace = \"36h\"\nmax-failures = 4\ncommunity-batch = 7\nallow-offline-trust = false\nlog-level = \"debug\"\n"), 0o600)
	env := map[string]string{
		"LICENSEHOST_CONFIG":       conf,
		"SPONSOR_GRACE_MAX_DAYS":   "1.5",
		"SPONSOR_COMMUNITY_BATCH":  "  ", // blank: unset
		"LICENSEHOST_LISTEN":       "127.0.0.1:9",
		"SPONSOR_GRACE_TRUST_DAYS": "2",
	}
	c, err = parseDaemon(t, []string{"--data-dir", dir, "--trust", "90s"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Engine.Trust != 90*time.Second || c.Engine.Grace != 36*time.Hour || c.Engine.MaxFailures != 4 ||
		c.Engine.CommunityBatch != 7 || c.Engine.AllowOfflineTrust || c.LogLevel != "debug" || c.Listen != "127.0.0.1:9" {
		t.Fatalf("precedence: %+v", c)
	}

	// JSON by extension, with the same keys.
	jconf := filepath.Join(dir, "licensehost.json")
	os.WriteFile(jconf, []byte(`{"switch-window": 2, "allow-public": true, "listen": "0.0.0.0:7474"}`), 0o600)
	c, err = parseDaemon(t, []string{"--data-dir", dir, "--config", jconf}, nil)
	if err != nil || c.Engine.SwitchWindow != 2*time.Hour || !c.AllowPublic {
		t.Fatalf("json config: %+v %v", c, err)
	}
}

// Every bad value is a usage error naming where it came from.
func TestDaemonSettingsErrors(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "c.toml")
	os.WriteFile(conf, []byte("grace = 0\n"), 0o600)
	unknown := filepath.Join(dir, "u.toml")
	os.WriteFile(unknown, []byte("gracee = 1\n"), 0o600)
	nested := filepath.Join(dir, "n.toml")
	os.WriteFile(nested, []byte("[trust]\ndays = 1\n"), 0o600)
	broken := filepath.Join(dir, "b.json")
	os.WriteFile(broken, []byte(`{"trust": `), 0o600)
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--grace", "0"}, nil, `--grace="0": must be positive`},
		{nil, map[string]string{"SPONSOR_GRACE_MAX_DAYS": "0"}, `SPONSOR_GRACE_MAX_DAYS="0": must be positive`},
		{nil, map[string]string{"SPONSOR_GRACE_TRUST_DAYS": "soon"}, `SPONSOR_GRACE_TRUST_DAYS="soon": want a number of days`},
		{nil, map[string]string{"SPONSOR_MAX_CONSECUTIVE_FAILURES": "ten"}, `SPONSOR_MAX_CONSECUTIVE_FAILURES="ten": want a whole number`},
		{nil, map[string]string{"SPONSOR_ALLOW_OFFLINE_TRUST": "maybe"}, "want true or false"},
		{nil, map[string]string{"SPONSOR_COMMUNITY_BATCH": "-4"}, `SPONSOR_COMMUNITY_BATCH="-4": must be at least 1`},
		{[]string{"--max-failures", "0"}, nil, `--max-failures="0": must be at least 1`},
		{[]string{"--config", conf}, nil, `grace="0": must be positive`},
		{[]string{"--config", unknown}, nil, `unknown setting "gracee"`},
		{[]string{"--config", nested}, nil, "want a string, number, boolean or an array of them"},
		{[]string{"--config", broken}, nil, "b.json"},
		{[]string{"--config", filepath.Join(dir, "missing.toml")}, nil, "missing.toml"},
		{[]string{"--remote-timeout", "2h"}, nil, "between 1ms and 1h"},
		{nil, map[string]string{"LICENSEHOST_LISTEN": "0.0.0.0:7474"}, `LICENSEHOST_LISTEN="0.0.0.0:7474": not a loopback address`},
		{[]string{"--log-format", "xml"}, nil, "want text or json"},
		{[]string{"--license-server", "ftp://x"}, nil, "want an http or https URL"},
		{[]string{"--machine-id", "server_BAD"}, nil, "16 lowercase hex"},
	} {
		_, err := parseDaemon(t, append([]string{"--data-dir", dir}, tc.args...), tc.env)
		var ue *cli.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v %v: got %v, want a one-line usage error containing %q", tc.args, tc.env, err, tc.want)
		}
	}
}

// The whole command line, in-process: exit statuses and one-line errors.
func TestRunExitStatus(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{[]string{"version"}, 0, "licensehost dev", ""},
		{[]string{"--version"}, 0, "licensehost dev", ""},
		{[]string{"help"}, 0, "SPONSOR_GRACE_TRUST_DAYS", ""},
		{[]string{"quota", "check", "--help"}, 0, "--batch", ""},
		{[]string{"completion", "bash"}, 0, "__start_licensehost", ""},
		{[]string{"quota"}, 2, "", "quota: want a subcommand: check, consume"},
		{[]string{"quota", "frob"}, 2, "", `quota: unknown subcommand "frob"`},
		{[]string{"stauts"}, 2, "", `unknown command "stauts"; did you mean "status"?`},
		{[]string{"activate"}, 2, "", "activate: want KEY, got 0 argument(s)"},
		{[]string{"events", "--limit", "0"}, 2, "", "--limit must be between 1 and 10000"},
		{[]string{"serve", "--nope"}, 2, "", "serve: unknown flag: --nope"},
		{[]string{"policy", "reload", "extra"}, 2, "", `policy reload: unexpected argument "extra"`},
	} {
		var out, errb bytes.Buffer
		err := cli.Execute(context.Background(), newRoot(func(string) string { return "" }), tc.args, &out, &errb)
		code := cli.ExitStatus("licensehost", err, &errb)
		if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.err) ||
			(tc.code == 2 && strings.Count(errb.String(), "\n") != 1) {
			t.Errorf("%q: exit %d, stdout %.200q, stderr %q; want %d, %q, %q", tc.args, code, out.String(), errb.String(), tc.code, tc.out, tc.err)
		}
	}
}

// TestClientTokenFallback: without --token-file and LICENSEHOST_DATA_DIR,
// the client reads the user's own token, else the packaged service's
// (docs/install.md, "The CLI on a packaged host").
func TestClientTokenFallback(t *testing.T) {
	home, system := t.TempDir(), t.TempDir()
	t.Setenv("XDG_DATA_HOME", home)
	old := systemDataDir
	systemDataDir = system
	t.Cleanup(func() { systemDataDir = old })
	resolve := func(env map[string]string) string {
		t.Helper()
		var c clientConfig
		s := clientSettings(pflag.NewFlagSet("c", pflag.ContinueOnError), &c)
		if err := c.complete(s, func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
		return c.TokenFile
	}
	own := filepath.Join(home, "licensehost", "admin.token")
	if got := resolve(nil); got != own {
		t.Errorf("no token anywhere: %s, want the user's %s", got, own)
	}
	if err := os.WriteFile(filepath.Join(system, "admin.token"), []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := resolve(nil), filepath.Join(system, "admin.token"); got != want {
		t.Errorf("only the service's token: %s, want %s", got, want)
	}
	if got, want := resolve(map[string]string{"LICENSEHOST_DATA_DIR": home}), filepath.Join(home, "admin.token"); got != want {
		t.Errorf("LICENSEHOST_DATA_DIR set: %s, want %s", got, want)
	}
	if err := os.MkdirAll(filepath.Dir(own), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(own, []byte("y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := resolve(nil); got != own {
		t.Errorf("both tokens: %s, want the user's %s", got, own)
	}
}
