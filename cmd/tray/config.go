package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/ui"
)

// Defaults.
const (
	defaultPoll = 30 * time.Second
	minPoll     = time.Second
)

// config is the tray's configuration: flags override environment variables,
// which override defaults.
type config struct {
	HostURL    string
	TokenFile  string
	Poll       time.Duration
	Show       string // "", "status", "activate" or "switch": open the window at start
	LicenseURL string
	Version    bool
}

// errHelp is returned for -h/--help (exit status 0).
var errHelp = flag.ErrHelp

// parseConfig reads args and the environment through getenv.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	c := config{HostURL: hostclient.DefaultBaseURL, Poll: defaultPoll, LicenseURL: ui.DefaultLicenseURL}
	if v := getenv("LICENSEHOST_URL"); v != "" {
		c.HostURL = v
	}
	if v := getenv("LICENSEHOST_TOKEN_FILE"); v != "" {
		c.TokenFile = v
	}
	if v := getenv("LICENSEHOST_TRAY_POLL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("LICENSEHOST_TRAY_POLL: %w", err)
		}
		c.Poll = d
	}
	fs := flag.NewFlagSet("licensehost-tray", flag.ContinueOnError)
	fs.StringVar(&c.HostURL, "host", c.HostURL, "the licensehost daemon's URL (env LICENSEHOST_URL)")
	fs.StringVar(&c.TokenFile, "token-file", c.TokenFile, "the admin token file (env LICENSEHOST_TOKEN_FILE; default admin.token in the host's data directory)")
	fs.DurationVar(&c.Poll, "poll", c.Poll, "how often to re-read the status (env LICENSEHOST_TRAY_POLL)")
	fs.StringVar(&c.Show, "show", "", "open the status window at start on a tab: status, activate or switch")
	fs.StringVar(&c.LicenseURL, "license-url", c.LicenseURL, "where \"Get a license\" leads")
	fs.BoolVar(&c.Version, "version", false, "print the version and exit")
	fs.SetOutput(io.Discard) // errors are returned as one line, usage only on -h
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(out, "usage: licensehost-tray [flags]\n\nA system tray companion of the licensehost daemon.\n\n")
			fs.SetOutput(out)
			fs.PrintDefaults()
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.Poll < minPoll {
		return c, fmt.Errorf("--poll %v: must be at least %v", c.Poll, minPoll)
	}
	switch c.Show {
	case "", "status", "activate", "switch":
	default:
		return c, fmt.Errorf("--show %q: want status, activate or switch", c.Show)
	}
	if _, err := hostclient.New(c.HostURL, ""); err != nil {
		return c, fmt.Errorf("--host: %w", err)
	}
	if c.TokenFile == "" {
		p, err := hostclient.DefaultTokenFile()
		if err != nil {
			return c, fmt.Errorf("--token-file not given and %w", err)
		}
		c.TokenFile = p
	}
	c.Show = strings.TrimSpace(c.Show)
	return c, nil
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
