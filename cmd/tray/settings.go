package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/ui"
)

// Defaults.
const (
	defaultPoll = 30 * time.Second
	minPoll     = time.Second
)

// config is the tray's configuration.
type config struct {
	HostURL    string
	TokenFile  string
	Poll       time.Duration
	Show       string // "", "status", "activate" or "switch": open the window at start
	LicenseURL string
}

// traySettings declares every setting of the tray once: flag, environment
// variable, default, help and parser. The flags, the environment lookup,
// --help and the table in docs/tray.md come from it (TestDocsSettings keeps
// the doc in step); see docs/CONTRIBUTING.md.
func traySettings(fs *pflag.FlagSet, c *config) *cli.Settings {
	return cli.Bind(fs,
		cli.Setting{Name: "host", Env: "LICENSEHOST_URL", Value: cli.String(&c.HostURL, hostclient.DefaultBaseURL),
			Help: "the licensehost daemon's URL"},
		cli.Setting{Name: "token-file", Env: "LICENSEHOST_TOKEN_FILE", Value: cli.String(&c.TokenFile, ""),
			DefaultDoc: "`$XDG_DATA_HOME/licensehost/admin.token` (else `~/.local/share/licensehost/admin.token`); without one, the packaged service's `/var/lib/licensehost/app.token` (read-only)",
			Help:       "the admin token file the daemon creates"},
		cli.Setting{Name: "poll", Env: "LICENSEHOST_TRAY_POLL", Value: cli.Duration(&c.Poll, defaultPoll, 0),
			Help: "how often to re-read the status, at least 1s"},
		cli.Setting{Name: "show", Value: cli.String(&c.Show, ""),
			DefaultDoc: "none: start in the tray only",
			Help:       "open the status window at start on a tab: status, activate or switch"},
		cli.Setting{Name: "license-url", Value: cli.String(&c.LicenseURL, ui.DefaultLicenseURL),
			Help: `where "Get a license" leads`},
	)
}

// complete resolves the environment, fills the computed defaults and
// validates the settings once.
func (c *config) complete(s *cli.Settings, getenv func(string) string) error {
	if err := s.Resolve(getenv); err != nil {
		return err
	}
	if c.Poll < minPoll {
		return s.Invalid("poll", fmt.Errorf("must be at least %v", minPoll))
	}
	switch c.Show {
	case "", "status", "activate", "switch":
	default:
		return s.Invalid("show", fmt.Errorf("want status, activate or switch"))
	}
	if _, err := hostclient.New(c.HostURL, ""); err != nil {
		return s.Invalid("host", err)
	}
	if c.TokenFile == "" {
		p, err := hostclient.DefaultTokenFile()
		if err != nil {
			return cli.Usagef("--token-file not given and %v", err)
		}
		// No daemon of this user: the packaged service's read-only app
		// token, readable by the licensehost group (docs/install.md).
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			if _, err := os.Stat(systemAppToken); !errors.Is(err, fs.ErrNotExist) {
				p = systemAppToken
			}
		}
		c.TokenFile = p
	}
	return nil
}

// systemAppToken is the packaged service's app token (docs/install.md); a
// variable for tests.
var systemAppToken = "/var/lib/licensehost/app.token"

// newRoot is the tray's command: start runs the tray with the resolved
// configuration.
func newRoot(getenv func(string) string, start func(config) error) *cobra.Command {
	var cfg config
	c := &cobra.Command{
		Use:   "licensehost-tray",
		Short: "a system tray companion of the licensehost daemon",
		Long:  "licensehost-tray — a system tray companion of the licensehost daemon (docs/tray.md).",
		Args:  cli.ExactArgs(),
	}
	cli.SetVersion(c, version, false)
	settings := traySettings(c.Flags(), &cfg)
	c.RunE = func(*cobra.Command, []string) error {
		if err := cfg.complete(settings, getenv); err != nil {
			return err
		}
		return start(cfg)
	}
	return c
}

// errHelp is returned by parseConfig for --help (exit status 0).
var errHelp = flag.ErrHelp

// parseConfig reads args and the environment through getenv, as run does,
// without starting the tray; --help and --version print to out and give
// errHelp.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	var got config
	started := false
	err := cli.Execute(context.Background(), newRoot(getenv, func(c config) error {
		got, started = c, true
		return nil
	}), args, out, out)
	if err == nil && !started {
		err = errHelp
	}
	return got, err
}

func (c config) tab() ui.Tab {
	switch c.Show {
	case "activate":
		return ui.TabActivate
	case "switch":
		return ui.TabSwitch
	}
	return ui.TabStatus
}
