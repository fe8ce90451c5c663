package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/internal/remote"
)

// Environment variables of the host (the SPONSOR_* ones are engine's).
const (
	envListen          = "LICENSEHOST_LISTEN"
	envDataDir         = "LICENSEHOST_DATA_DIR"
	envLicenseServer   = "LICENSEHOST_LICENSE_SERVER"
	envTokenFile       = "LICENSEHOST_TOKEN_FILE"
	envAppTokenFile    = "LICENSEHOST_APP_TOKEN_FILE"
	envPolicyDir       = "LICENSEHOST_POLICY_DIR"
	envLogFormat       = "LICENSEHOST_LOG_FORMAT"
	envLogLevel        = "LICENSEHOST_LOG_LEVEL"
	envServerPublicKey = "LICENSEHOST_SERVER_PUBLIC_KEY"
	envRemoteTimeout   = "LICENSEHOST_REMOTE_TIMEOUT"
	envURL             = "LICENSEHOST_URL"
)

// usageError is a bad flag or value: one line, exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// daemonConfig is everything the daemon needs, resolved from flags, then
// environment, then defaults.
type daemonConfig struct {
	Listen          string
	DataDir         string
	LicenseServer   string
	TokenFile       string
	AppTokenFile    string
	PolicyDir       string
	LogFormat       string
	LogLevel        string
	ServerPublicKey string
	RemoteTimeout   time.Duration
	MachineID       string // override; "" computes it
	Engine          engine.Config
	AllowPublic     bool
}

// stringFlag records whether a flag was set, so env only fills unset ones.
type setFlags map[string]bool

func parseDaemonFlags(args []string, getenv func(string) string) (daemonConfig, error) {
	fs := flag.NewFlagSet("licensehost", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c daemonConfig
	var trust, grace, switchWindow, offline, maxFail, comTotal, comBatch, remoteTimeout string
	fs.StringVar(&c.Listen, "listen", "", "address to listen on (default "+api.DefaultListen+")")
	fs.StringVar(&c.DataDir, "data-dir", "", "data directory (default $XDG_DATA_HOME/licensehost)")
	fs.StringVar(&c.LicenseServer, "license-server", "", "license server base URL (default "+remote.DefaultBaseURL+")")
	fs.StringVar(&c.TokenFile, "token-file", "", "admin token file (default <data-dir>/"+api.TokenFileName+")")
	fs.StringVar(&c.AppTokenFile, "app-token-file", "", "optional read-only app token file")
	fs.StringVar(&c.PolicyDir, "policy-dir", "", "policy module directory (default: builtin policy only)")
	fs.StringVar(&c.LogFormat, "log-format", "", "text or json")
	fs.StringVar(&c.LogLevel, "log-level", "", "debug, info, warn or error")
	fs.StringVar(&c.ServerPublicKey, "server-public-key", "", "pin the license server's Ed25519 public key: unsigned answers are refused")
	fs.StringVar(&c.MachineID, "machine-id", "", "pin the machine code (server_ + 16 hex)")
	fs.BoolVar(&c.AllowPublic, "allow-public", false, "allow --listen on a non-loopback address")
	fs.StringVar(&trust, "trust", "", "trust window: days or a duration (default 7)")
	fs.StringVar(&grace, "grace", "", "grace period: days or a duration (default 15)")
	fs.StringVar(&switchWindow, "switch-window", "", "device switch window: hours or a duration (default 24)")
	fs.StringVar(&offline, "allow-offline-trust", "", "true or false (default true)")
	fs.StringVar(&maxFail, "max-failures", "", "failures before grace_limited (default 10)")
	fs.StringVar(&comTotal, "community-total", "", "community total quota (default 200)")
	fs.StringVar(&comBatch, "community-batch", "", "community batch quota (default 20)")
	fs.StringVar(&remoteTimeout, "remote-timeout", "", "total timeout of a license server call (default 15s)")
	if err := fs.Parse(args); err != nil {
		return c, usagef("%v (see licensehost help)", err)
	}
	if fs.NArg() > 0 {
		return c, usagef("unexpected argument %q (see licensehost help)", fs.Arg(0))
	}

	// Flags override env, which overrides defaults: feed flag values to the
	// engine's env reader under the env names.
	set := setFlags{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	pick := func(flagName, flagVal, envName string) string {
		if set[flagName] {
			return flagVal
		}
		return getenv(envName)
	}
	overlay := map[string]string{
		engine.EnvTrustDays:         pick("trust", trust, engine.EnvTrustDays),
		engine.EnvGraceDays:         pick("grace", grace, engine.EnvGraceDays),
		engine.EnvSwitchWindowHours: pick("switch-window", switchWindow, engine.EnvSwitchWindowHours),
		engine.EnvAllowOfflineTrust: pick("allow-offline-trust", offline, engine.EnvAllowOfflineTrust),
		engine.EnvMaxFailures:       pick("max-failures", maxFail, engine.EnvMaxFailures),
		engine.EnvCommunityTotal:    pick("community-total", comTotal, engine.EnvCommunityTotal),
		engine.EnvCommunityBatch:    pick("community-batch", comBatch, engine.EnvCommunityBatch),
	}
	for name, flagName := range map[string]string{engine.EnvTrustDays: "trust", engine.EnvGraceDays: "grace", engine.EnvSwitchWindowHours: "switch-window",
		engine.EnvAllowOfflineTrust: "allow-offline-trust", engine.EnvMaxFailures: "max-failures", engine.EnvCommunityTotal: "community-total", engine.EnvCommunityBatch: "community-batch"} {
		if set[flagName] && strings.TrimSpace(overlay[name]) == "" {
			return c, usagef("--%s: empty value", flagName)
		}
	}
	ecfg, err := engine.DefaultConfig().ApplyEnv(func(k string) string { return overlay[k] })
	if err != nil {
		var ce *engine.ConfigError
		if errors.As(err, &ce) {
			return c, usagef("%s", flagNameFor(ce, set))
		}
		return c, usagef("%v", err)
	}
	c.Engine = ecfg

	str := func(dst *string, flagName, envName, def string) {
		if !set[flagName] {
			*dst = getenv(envName)
		}
		if strings.TrimSpace(*dst) == "" {
			*dst = def
		}
	}
	str(&c.Listen, "listen", envListen, api.DefaultListen)
	str(&c.LicenseServer, "license-server", envLicenseServer, remote.DefaultBaseURL)
	str(&c.PolicyDir, "policy-dir", envPolicyDir, "")
	str(&c.LogFormat, "log-format", envLogFormat, "text")
	str(&c.LogLevel, "log-level", envLogLevel, "info")
	str(&c.ServerPublicKey, "server-public-key", envServerPublicKey, "")
	str(&c.AppTokenFile, "app-token-file", envAppTokenFile, "")
	str(&c.MachineID, "machine-id", "LICENSEHOST_MACHINE_ID", "")
	defData, derr := hostclient.DefaultDataDir()
	str(&c.DataDir, "data-dir", envDataDir, defData)
	if c.DataDir == "" {
		return c, usagef("--data-dir: no default data directory (%v); pass one", derr)
	}
	str(&c.TokenFile, "token-file", envTokenFile, filepath.Join(c.DataDir, api.TokenFileName))
	rt := remoteTimeout
	if !set["remote-timeout"] {
		rt = getenv(envRemoteTimeout)
	}
	if rt != "" {
		d, err := time.ParseDuration(rt)
		if err != nil || d <= 0 || d > time.Hour {
			return c, usagef("--remote-timeout=%q: want a duration between 1ms and 1h, such as 15s", rt)
		}
		c.RemoteTimeout = d
	}

	switch c.LogFormat {
	case "text", "json":
	default:
		return c, usagef("--log-format=%q: want text or json", c.LogFormat)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return c, usagef("--log-level=%q: want debug, info, warn or error", c.LogLevel)
	}
	if err := checkListen(c.Listen, c.AllowPublic); err != nil {
		return c, err
	}
	if u, err := url.Parse(c.LicenseServer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, usagef("--license-server=%q: want an http or https URL such as %s", c.LicenseServer, remote.DefaultBaseURL)
	}
	if c.MachineID != "" && !engine.ValidMachineID(c.MachineID) {
		return c, usagef("--machine-id=%q: want server_ followed by 16 lowercase hex characters", c.MachineID)
	}
	return c, nil
}

func flagNameFor(ce *engine.ConfigError, set setFlags) string {
	names := map[string]string{
		engine.EnvTrustDays: "trust", engine.EnvGraceDays: "grace", engine.EnvSwitchWindowHours: "switch-window",
		engine.EnvAllowOfflineTrust: "allow-offline-trust", engine.EnvMaxFailures: "max-failures",
		engine.EnvCommunityTotal: "community-total", engine.EnvCommunityBatch: "community-batch",
		"grace": "grace", "maxFailures": "max-failures", "communityTotal": "community-total", "communityBatch": "community-batch",
	}
	if f, ok := names[ce.Field]; ok && set[f] {
		return fmt.Sprintf("--%s=%q: %v", f, ce.Value, ce.Err)
	}
	return ce.Error()
}

// checkListen refuses a non-loopback address unless allowed explicitly.
func checkListen(addr string, allowPublic bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("--listen=%q: want host:port such as %s", addr, api.DefaultListen)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return usagef("--listen=%q: bad port", addr)
	}
	if allowPublic {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return usagef("--listen=%q is not a loopback address; the API then reaches the network — pass --allow-public if that is intended", addr)
	}
	return nil
}
