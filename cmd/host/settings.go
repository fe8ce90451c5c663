package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/internal/hostdir"
	"github.com/licensehost/licensehost/internal/product"
	"github.com/licensehost/licensehost/internal/remote"
	"github.com/licensehost/licensehost/internal/web"
)

// daemonConfig is everything the daemon needs.
type daemonConfig struct {
	ConfigFile      string
	Listen          string
	AllowPublic     bool
	DataDir         string
	TokenFile       string
	AppTokenFile    string
	LicenseServer   string
	ServerPublicKey string
	RemoteTimeout   time.Duration
	PolicyDir       string
	ProductFile     string           // --product: the product file (docs/features.md)
	Product         *product.File    // loaded by complete; nil without --product
	VendorKeys      []string         // --vendor-key kid=BASE64, repeatable
	Trust           actfile.TrustSet // the product file's vendorKeys and --vendor-key, built by complete
	MachineID       string           // override; "" computes it
	Engine          engine.Config
	LogFormat       string
	LogLevel        string
	NoWeb           bool   // --no-web: no admin page at / (docs/web.md)
	LicenseURL      string // the admin page's "Get a license" link

	// AppTokenGroupRead: create the app token file 0640, for its group
	// (--app-token-group-read; docs/install.md).
	AppTokenGroupRead bool
}

// daemonSettings declares every setting of the daemon once: flag, environment
// variable, default, help and parser. The flags of `licensehost` and
// `licensehost serve`, the environment lookup, --config files, --help and the
// table in README.md all come from this list (TestREADMESettings keeps the
// README in step). To add a setting, add a field to daemonConfig and a line
// here; see docs/CONTRIBUTING.md.
func daemonSettings(fs *pflag.FlagSet, c *daemonConfig) *cli.Settings {
	c.Engine = engine.DefaultConfig() // fields no setting covers keep their defaults
	e := &c.Engine
	return cli.Bind(fs,
		cli.Setting{Name: "config", Env: "LICENSEHOST_CONFIG", Value: cli.String(&c.ConfigFile, ""), ConfigFile: true,
			Help: "read settings from this TOML file (JSON if it ends in .json); keys are the flag names"},
		cli.Setting{Name: "listen", Env: "LICENSEHOST_LISTEN", Value: cli.String(&c.Listen, api.DefaultListen),
			Help: "address of the local HTTP API, host:port; loopback only unless --allow-public"},
		cli.Setting{Name: "allow-public", Value: cli.Switch(&c.AllowPublic),
			Help: "allow --listen on a non-loopback address"},
		dataDirSetting(&c.DataDir, "data directory: the store, the token file, policy caches"),
		cli.Setting{Name: "token-file", Env: "LICENSEHOST_TOKEN_FILE", Value: cli.String(&c.TokenFile, ""),
			DefaultDoc: "`<data-dir>/" + api.TokenFileName + "`",
			Help:       "admin token file, created with 32 random bytes, mode 0600"},
		cli.Setting{Name: "app-token-file", Env: "LICENSEHOST_APP_TOKEN_FILE", Value: cli.String(&c.AppTokenFile, ""),
			Help: "optional read-only token file: status, machine-id, quota and features only"},
		cli.Setting{Name: "app-token-group-read", Env: "LICENSEHOST_APP_TOKEN_GROUP_READ", Value: cli.Switch(&c.AppTokenGroupRead),
			Help: "create the app token file with mode 0640, readable by its group (the packaged service, docs/install.md)"},
		cli.Setting{Name: "license-server", Env: "LICENSEHOST_LICENSE_SERVER", Value: cli.String(&c.LicenseServer, remote.DefaultBaseURL),
			Help: "license server base URL"},
		cli.Setting{Name: "server-public-key", Env: "LICENSEHOST_SERVER_PUBLIC_KEY", Value: cli.String(&c.ServerPublicKey, ""),
			Help: "pin the license server's Ed25519 public key: unsigned or forged answers are refused"},
		cli.Setting{Name: "remote-timeout", Env: "LICENSEHOST_REMOTE_TIMEOUT", Value: cli.Duration(&c.RemoteTimeout, remote.DefaultTotalTimeout, 0),
			Help: "total timeout of one license server call, 1ms to 1h"},
		cli.Setting{Name: "policy-dir", Env: "LICENSEHOST_POLICY_DIR", Value: cli.String(&c.PolicyDir, ""),
			DefaultDoc: "none (builtin policy)",
			Help:       "quota policy modules (docs/policy-abi.md)"},
		cli.Setting{Name: "product", Env: product.EnvProduct, Value: cli.String(&c.ProductFile, ""),
			DefaultDoc: "none (no feature licensing)",
			Help:       "product file: features, pre-authorization, license types (docs/features.md)"},
		cli.Setting{Name: "vendor-key", Env: "LICENSEHOST_VENDOR_KEYS", Value: cli.List(&c.VendorKeys),
			DefaultDoc: "the product file's vendorKeys",
			Help:       "trust a vendor key for activation files: kid=BASE64 (repeatable; docs/activation-files.md)"},
		machineIDSetting(&c.MachineID, "pin the machine code (server_ and 16 hex characters)"),
		cli.Setting{Name: "trust", Env: "SPONSOR_GRACE_TRUST_DAYS", Value: cli.Duration(&e.Trust, engine.DefaultTrust, 24*time.Hour),
			Help: "trust window after a successful verification: days, or a duration such as 90s or 36h"},
		cli.Setting{Name: "grace", Env: "SPONSOR_GRACE_MAX_DAYS", Value: cli.Duration(&e.Grace, engine.DefaultGrace, 24*time.Hour),
			Help: "grace period once trust lapses or failures start: days, or a duration"},
		cli.Setting{Name: "max-failures", Env: "SPONSOR_MAX_CONSECUTIVE_FAILURES", Value: cli.Int(&e.MaxFailures, engine.DefaultMaxFailures),
			Help: "consecutive failed verifications before grace_limited"},
		cli.Setting{Name: "switch-window", Env: "SPONSOR_DEVICE_SWITCH_WINDOW_HOURS", Value: cli.Duration(&e.SwitchWindow, engine.DefaultSwitchWindow, time.Hour),
			Help: "how long a machine that handed its license on stays licensed: hours, or a duration"},
		cli.Setting{Name: "allow-offline-trust", Env: "SPONSOR_ALLOW_OFFLINE_TRUST", Value: cli.Bool(&e.AllowOfflineTrust, engine.DefaultAllowOfflineTrust),
			Help: "false: no trust window, every failure starts grace at once"},
		cli.Setting{Name: "community-total", Env: "SPONSOR_COMMUNITY_TOTAL", Value: cli.Int64(&e.CommunityTotal, engine.DefaultCommunityTotal),
			Help: "community edition total quota"},
		cli.Setting{Name: "community-batch", Env: "SPONSOR_COMMUNITY_BATCH", Value: cli.Int64(&e.CommunityBatch, engine.DefaultCommunityBatch),
			Help: "community edition batch quota"},
		cli.Setting{Name: "no-web", Env: "LICENSEHOST_NO_WEB", Value: cli.Switch(&c.NoWeb),
			Help: "do not serve the web admin page at / (docs/web.md); the API is unchanged"},
		cli.Setting{Name: "license-url", Env: "LICENSEHOST_LICENSE_URL", Value: cli.String(&c.LicenseURL, web.DefaultLicenseURL),
			Help: "the admin page's \"Get a license\" link"},
		cli.Setting{Name: "log-format", Env: "LICENSEHOST_LOG_FORMAT", Value: cli.String(&c.LogFormat, "text"),
			Help: "text or json"},
		cli.Setting{Name: "log-level", Env: "LICENSEHOST_LOG_LEVEL", Value: cli.String(&c.LogLevel, "info"),
			Help: "debug, info, warn or error"},
	)
}

// complete resolves the environment and config file into c, fills the
// computed defaults and validates everything once. Errors are usage errors
// naming the flag, variable or file key the bad value came from.
func (c *daemonConfig) complete(s *cli.Settings, getenv func(string) string) error {
	if err := s.Resolve(getenv); err != nil {
		return err
	}
	if err := defaultDataDir(&c.DataDir); err != nil {
		return err
	}
	if c.TokenFile == "" {
		c.TokenFile = hostdir.TokenFile(c.DataDir)
	}
	if err := c.Engine.Validate(); err != nil {
		var ce *engine.ConfigError
		if errors.As(err, &ce) {
			return s.Invalid(cli.FlagName(ce.Field), ce.Err)
		}
		return cli.Usagef("%v", err)
	}
	if c.RemoteTimeout < time.Millisecond || c.RemoteTimeout > time.Hour {
		return s.Invalid("remote-timeout", fmt.Errorf("want a duration between 1ms and 1h, such as 15s"))
	}
	if err := web.CheckLicenseURL(c.LicenseURL); err != nil {
		return s.Invalid("license-url", err)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return s.Invalid("log-format", fmt.Errorf("want text or json"))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return s.Invalid("log-level", fmt.Errorf("want debug, info, warn or error"))
	}
	if err := checkListen(c.Listen, c.AllowPublic); err != nil {
		return s.Invalid("listen", err)
	}
	if u, err := url.Parse(c.LicenseServer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return s.Invalid("license-server", fmt.Errorf("want an http or https URL such as %s", remote.DefaultBaseURL))
	}
	if c.ProductFile != "" {
		pf, err := product.Load(c.ProductFile)
		if err != nil {
			return cli.Usagef("%v", err)
		}
		c.Product = pf
	}
	c.Trust = actfile.TrustSet{}
	if c.Product != nil {
		ts, err := c.Product.TrustSet()
		if err != nil {
			return cli.Usagef("%s: vendorKeys: %v", c.ProductFile, err)
		}
		c.Trust = ts
	}
	for _, v := range c.VendorKeys {
		kid, pub, err := actfile.ParseVendorKey(v)
		if err == nil {
			err = c.Trust.Add(kid, pub)
		}
		if err != nil {
			return s.Invalid("vendor-key", err)
		}
	}
	if c.MachineID != "" && !engine.ValidMachineID(c.MachineID) {
		return s.Invalid("machine-id", fmt.Errorf("want server_ followed by 16 lowercase hex characters"))
	}
	return nil
}

// dataDirSetting is the data directory setting, declared here once for the
// daemon and for the commands that open the directory themselves (restore,
// machine-id --explain); help says what the command does with it.
func dataDirSetting(p *string, help string) cli.Setting {
	return cli.Setting{Name: "data-dir", Env: "LICENSEHOST_DATA_DIR", Value: cli.String(p, ""),
		DefaultDoc: "`$XDG_DATA_HOME/licensehost` (`~/.local/share/licensehost`)", Help: help}
}

// defaultDataDir fills an unset data directory with the default.
func defaultDataDir(p *string) error {
	if *p != "" {
		return nil
	}
	d, err := hostdir.Default()
	if err != nil {
		return cli.Usagef("--data-dir: no default data directory (%v); pass one", err)
	}
	*p = d
	return nil
}

// machineIDSetting pins the machine code, declared here once for the
// daemon, machine-id and restore; help says what the command does with it.
func machineIDSetting(p *string, help string) cli.Setting {
	return cli.Setting{Name: "machine-id", Env: "LICENSEHOST_MACHINE_ID", Value: cli.String(p, ""),
		DefaultDoc: "computed", Help: help}
}

// checkListen refuses a non-loopback address unless allowed explicitly.
func checkListen(addr string, allowPublic bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port such as %s", api.DefaultListen)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("bad port")
	}
	if allowPublic || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("not a loopback address; the API then reaches the network — pass --allow-public if that is intended")
	}
	return nil
}

// clientConfig is what the subcommands that talk to the daemon need.
type clientConfig struct {
	Host      string
	TokenFile string
}

// clientSettings declares the settings of every subcommand that talks to the
// daemon (status, activate, quota, …), like daemonSettings.
func clientSettings(fs *pflag.FlagSet, c *clientConfig) *cli.Settings {
	return cli.Bind(fs,
		cli.Setting{Name: "host", Env: "LICENSEHOST_URL", Value: cli.String(&c.Host, ""),
			DefaultDoc: "`http://$LICENSEHOST_LISTEN`, else `http://" + api.DefaultListen + "`",
			Help:       "the daemon's URL"},
		cli.Setting{Name: "token-file", Env: "LICENSEHOST_TOKEN_FILE", Value: cli.String(&c.TokenFile, ""),
			DefaultDoc: "`admin.token` in `$LICENSEHOST_DATA_DIR` or the default data directory, else the packaged service's `/var/lib/licensehost/admin.token`",
			Help:       "token file to authenticate with"},
	)
}

// complete resolves the environment and fills the defaults, which follow
// the daemon's own settings when they are in the environment.
func (c *clientConfig) complete(s *cli.Settings, getenv func(string) string) error {
	if err := s.Resolve(getenv); err != nil {
		return err
	}
	if c.Host == "" {
		c.Host = "http://" + api.DefaultListen
		if l := getenv("LICENSEHOST_LISTEN"); l != "" {
			c.Host = "http://" + l
		}
	}
	if c.TokenFile == "" {
		dir := getenv("LICENSEHOST_DATA_DIR")
		if dir == "" {
			d, err := hostdir.Default()
			if err != nil {
				return err
			}
			dir = d
			// No daemon of this user: the packaged service's token, so that
			// `sudo licensehost status` works on a packaged host.
			if _, err := os.Stat(hostdir.TokenFile(dir)); errors.Is(err, fs.ErrNotExist) {
				if _, err := os.Stat(hostdir.TokenFile(systemDataDir)); !errors.Is(err, fs.ErrNotExist) {
					dir = systemDataDir
				}
			}
		}
		c.TokenFile = hostdir.TokenFile(dir)
	}
	return nil
}

// systemDataDir is the data directory of the packaged service
// (docs/install.md); a variable for tests.
var systemDataDir = "/var/lib/licensehost"
