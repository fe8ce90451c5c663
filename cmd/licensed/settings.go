package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/internal/licserver"
)

// defaultListen is where licensed serve listens by default.
const defaultListen = "127.0.0.1:7480"

// dataDirSetting is the one setting every command has (a persistent flag of
// the root command).
func dataDirSetting(fs *pflag.FlagSet, dir *string) *cli.Settings {
	return cli.Bind(fs, cli.Setting{Name: "data-dir", Env: "LICENSED_DATA_DIR", Value: cli.String(dir, ""),
		DefaultDoc: "`$XDG_DATA_HOME/licensed` (`~/.local/share/licensed`)",
		Help:       "data directory: keys, admin token, store"})
}

// completeDataDir resolves the data directory: flag, environment, default.
func completeDataDir(s *cli.Settings, dir *string, getenv func(string) string) error {
	if err := s.Resolve(getenv); err != nil {
		return err
	}
	switch {
	case *dir != "":
	case s.Given("data-dir"):
		return cli.Usagef("--data-dir must not be empty")
	case getenv("XDG_DATA_HOME") != "":
		*dir = filepath.Join(getenv("XDG_DATA_HOME"), "licensed")
	default:
		h, err := os.UserHomeDir()
		if err != nil {
			return cli.Usagef("--data-dir: no default data directory (%v); pass one", err)
		}
		*dir = filepath.Join(h, ".local", "share", "licensed")
	}
	return nil
}

// serveConfig is what licensed serve needs besides the data directory.
type serveConfig struct {
	Listen      string
	LogLevel    string
	ChurnRate   licserver.Rate
	RequestRate licserver.Rate
}

// serveSettings declares the settings of licensed serve once: flag,
// environment variable, default, help and parser; --help and the table in
// docs/licensed.md come from it (TestDocsSettings keeps the doc in step).
func serveSettings(fs *pflag.FlagSet, c *serveConfig) *cli.Settings {
	return cli.Bind(fs,
		cli.Setting{Name: "listen", Env: "LICENSED_LISTEN", Value: cli.String(&c.Listen, defaultListen),
			Help: "address to listen on, host:port"},
		cli.Setting{Name: "log-level", Value: cli.String(&c.LogLevel, "info"),
			Help: "debug, info, warn or error"},
		cli.Setting{Name: "churn-burst", Value: cli.Int(&c.ChurnRate.Burst, licserver.DefaultChurnRate.Burst),
			Help: "new device bindings and switches per key, burst (0 = unlimited)"},
		cli.Setting{Name: "churn-every", Value: cli.Duration(&c.ChurnRate.Every, licserver.DefaultChurnRate.Every, 0),
			Help: "one churn token per this duration"},
		cli.Setting{Name: "request-burst", Value: cli.Int(&c.RequestRate.Burst, licserver.DefaultRequestRate.Burst),
			Help: "client requests per key, burst (0 = unlimited)"},
		cli.Setting{Name: "request-every", Value: cli.Duration(&c.RequestRate.Every, licserver.DefaultRequestRate.Every, 0),
			Help: "one request token per this duration"},
	)
}

// complete resolves the environment and validates the settings once.
func (c *serveConfig) complete(s *cli.Settings, getenv func(string) string) (slog.Level, error) {
	var level slog.Level
	if err := s.Resolve(getenv); err != nil {
		return level, err
	}
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return level, s.Invalid("log-level", fmt.Errorf("want debug, info, warn or error"))
	}
	for _, r := range []struct {
		name string
		rate licserver.Rate
	}{{"churn", c.ChurnRate}, {"request", c.RequestRate}} {
		if r.rate.Burst < 0 {
			return level, s.Invalid(r.name+"-burst", fmt.Errorf("must not be negative"))
		}
		if r.rate.Every <= 0 {
			return level, s.Invalid(r.name+"-every", fmt.Errorf("must be positive"))
		}
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return level, s.Invalid("listen", err)
	}
	return level, nil
}
