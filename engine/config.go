package engine

import (
	"fmt"
	"strconv"
	"time"
)

// Defaults (docs/engine.md explains each).
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

// Config is the engine's configuration: a plain struct with no knowledge of
// flags, environment variables or files (the binaries declare those, see
// docs/CONTRIBUTING.md). The zero value is not valid; start from
// DefaultConfig. New validates it once.
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

// DefaultConfig returns the Default* values.
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

// ConfigError names the field that holds a bad value (lower camel case:
// "switchWindow"; the binaries map it to the flag, environment variable or
// config-file key the value came from).
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
