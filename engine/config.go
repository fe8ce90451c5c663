package engine

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Defaults of SPEC §4, §5 and §8.
const (
	DefaultTrust             = 7 * 24 * time.Hour
	DefaultGrace             = 15 * 24 * time.Hour
	DefaultMaxFailures       = 10
	DefaultSwitchWindow      = 24 * time.Hour
	DefaultAllowOfflineTrust = true
	DefaultCommunityTotal    = 200
	DefaultCommunityBatch    = 20
	DefaultGraceLimitedBatch = 20
	DefaultClockTolerance    = 5 * time.Minute
	// MaxDuration bounds every configured duration (100 years), so that
	// arithmetic on times never overflows.
	MaxDuration = 100 * 365 * 24 * time.Hour
)

// Environment variable names of seed 002 §11.
const (
	EnvTrustDays         = "SPONSOR_GRACE_TRUST_DAYS"
	EnvGraceDays         = "SPONSOR_GRACE_MAX_DAYS"
	EnvMaxFailures       = "SPONSOR_MAX_CONSECUTIVE_FAILURES"
	EnvSwitchWindowHours = "SPONSOR_DEVICE_SWITCH_WINDOW_HOURS"
	EnvAllowOfflineTrust = "SPONSOR_ALLOW_OFFLINE_TRUST"
	EnvCommunityTotal    = "SPONSOR_COMMUNITY_TOTAL"
	EnvCommunityBatch    = "SPONSOR_COMMUNITY_BATCH"
)

// Config is the engine's configuration. The zero value is not valid; start
// from DefaultConfig.
type Config struct {
	Trust             time.Duration // full trust after a successful verification
	Grace             time.Duration // grace once trust lapses or a failure streak starts
	MaxFailures       int           // failures after which grace becomes grace_limited
	SwitchWindow      time.Duration // how long a machine that handed its license away stays licensed
	AllowOfflineTrust bool          // false: no trust window, see Evaluate
	CommunityTotal    int64         // community edition total quota
	CommunityBatch    int64         // community edition batch quota
	GraceLimitedBatch int64         // batch cap in grace_limited
	ClockTolerance    time.Duration // clock moves back by less than this are not reported
}

// DefaultConfig returns the defaults of SPEC §8.
func DefaultConfig() Config {
	return Config{
		Trust:             DefaultTrust,
		Grace:             DefaultGrace,
		MaxFailures:       DefaultMaxFailures,
		SwitchWindow:      DefaultSwitchWindow,
		AllowOfflineTrust: DefaultAllowOfflineTrust,
		CommunityTotal:    DefaultCommunityTotal,
		CommunityBatch:    DefaultCommunityBatch,
		GraceLimitedBatch: DefaultGraceLimitedBatch,
		ClockTolerance:    DefaultClockTolerance,
	}
}

// ConfigError names the field or variable that holds a bad value.
type ConfigError struct {
	Field string
	Value string
	Err   error
}

func (e *ConfigError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %v", e.Field, e.Err)
	}
	return fmt.Sprintf("%s=%q: %v", e.Field, e.Value, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Validate checks every field and names the first bad one.
func (c Config) Validate() error {
	durations := []struct {
		name string
		v    time.Duration
		zero bool // zero allowed
	}{
		{"trust", c.Trust, true},
		{"grace", c.Grace, false},
		{"switchWindow", c.SwitchWindow, true},
		{"clockTolerance", c.ClockTolerance, true},
	}
	for _, d := range durations {
		switch {
		case d.v < 0 || (d.v == 0 && !d.zero):
			return &ConfigError{Field: d.name, Value: d.v.String(), Err: fmt.Errorf("must be positive")}
		case d.v > MaxDuration:
			return &ConfigError{Field: d.name, Value: d.v.String(), Err: fmt.Errorf("must be at most 100 years")}
		}
	}
	ints := []struct {
		name string
		v    int64
	}{
		{"maxFailures", int64(c.MaxFailures)},
		{"communityTotal", c.CommunityTotal},
		{"communityBatch", c.CommunityBatch},
		{"graceLimitedBatch", c.GraceLimitedBatch},
	}
	for _, i := range ints {
		if i.v < 1 {
			return &ConfigError{Field: i.name, Value: strconv.FormatInt(i.v, 10), Err: fmt.Errorf("must be at least 1")}
		}
	}
	return nil
}

// ParseDuration reads a duration given either as a plain number of units
// (days for SPONSOR_*_DAYS, hours for *_HOURS; fractions allowed) or as a Go
// duration string such as "90s" or "36h".
func ParseDuration(s string, unit time.Duration) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 {
			return 0, fmt.Errorf("must not be negative")
		}
		if f*float64(unit) > float64(MaxDuration) {
			return 0, fmt.Errorf("must be at most 100 years")
		}
		return time.Duration(f * float64(unit)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a number of %s or a duration such as 90s or 36h", unitName(unit))
	}
	if d < 0 {
		return 0, fmt.Errorf("must not be negative")
	}
	return d, nil
}

func unitName(u time.Duration) string {
	switch u {
	case 24 * time.Hour:
		return "days"
	case time.Hour:
		return "hours"
	}
	return u.String()
}

// ApplyEnv overrides c with the SPONSOR_* variables that getenv returns
// non-empty, and validates the result. Errors name the variable.
func (c Config) ApplyEnv(getenv func(string) string) (Config, error) {
	type durVar struct {
		name string
		unit time.Duration
		dst  *time.Duration
	}
	for _, v := range []durVar{
		{EnvTrustDays, 24 * time.Hour, &c.Trust},
		{EnvGraceDays, 24 * time.Hour, &c.Grace},
		{EnvSwitchWindowHours, time.Hour, &c.SwitchWindow},
	} {
		if s := getenv(v.name); s != "" {
			d, err := ParseDuration(s, v.unit)
			if err != nil {
				return c, &ConfigError{Field: v.name, Value: s, Err: err}
			}
			*v.dst = d
		}
	}
	if s := getenv(EnvMaxFailures); s != "" {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return c, &ConfigError{Field: EnvMaxFailures, Value: s, Err: fmt.Errorf("want a whole number")}
		}
		c.MaxFailures = n
	}
	for _, v := range []struct {
		name string
		dst  *int64
	}{{EnvCommunityTotal, &c.CommunityTotal}, {EnvCommunityBatch, &c.CommunityBatch}} {
		if s := getenv(v.name); s != "" {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return c, &ConfigError{Field: v.name, Value: s, Err: fmt.Errorf("want a whole number")}
			}
			*v.dst = n
		}
	}
	if s := getenv(EnvAllowOfflineTrust); s != "" {
		b, err := ParseBool(s)
		if err != nil {
			return c, &ConfigError{Field: EnvAllowOfflineTrust, Value: s, Err: err}
		}
		c.AllowOfflineTrust = b
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// ParseBool accepts true/false, 1/0, yes/no, on/off (any case).
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("want true or false")
}
