package engine_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
)

func TestParseDuration(t *testing.T) {
	ok := []struct {
		in   string
		unit time.Duration
		want time.Duration
	}{
		{"7", 24 * time.Hour, 7 * 24 * time.Hour},
		{"0.5", 24 * time.Hour, 12 * time.Hour},
		{"24", time.Hour, 24 * time.Hour},
		{"90s", 24 * time.Hour, 90 * time.Second},
		{" 36h ", time.Hour, 36 * time.Hour},
		{"0", 24 * time.Hour, 0},
	}
	for _, c := range ok {
		got, err := engine.ParseDuration(c.in, c.unit)
		if err != nil || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "seven", "-1", "-5m", "1e30", "7 days"} {
		if _, err := engine.ParseDuration(bad, 24*time.Hour); err == nil {
			t.Errorf("ParseDuration(%q) succeeded, want an error", bad)
		}
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{
		engine.EnvTrustDays:         "2s",
		engine.EnvGraceDays:         "1.5",
		engine.EnvMaxFailures:       "3",
		engine.EnvSwitchWindowHours: "2",
		engine.EnvAllowOfflineTrust: "false",
		engine.EnvCommunityTotal:    "300",
	}
	cfg, err := engine.DefaultConfig().ApplyEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Trust != 2*time.Second || cfg.Grace != 36*time.Hour || cfg.MaxFailures != 3 ||
		cfg.SwitchWindow != 2*time.Hour || cfg.AllowOfflineTrust || cfg.CommunityTotal != 300 || cfg.CommunityBatch != 20 {
		t.Fatalf("unexpected config %+v", cfg)
	}

	for name, val := range map[string]string{
		engine.EnvTrustDays:         "soon",
		engine.EnvGraceDays:         "0",
		engine.EnvMaxFailures:       "ten",
		engine.EnvAllowOfflineTrust: "maybe",
		engine.EnvCommunityBatch:    "-4",
	} {
		_, err := engine.DefaultConfig().ApplyEnv(func(k string) string {
			if k == name {
				return val
			}
			return ""
		})
		var ce *engine.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s=%q: got %v, want a ConfigError", name, val, err)
			continue
		}
		// The message names the variable or the field it feeds.
		if !strings.Contains(err.Error(), name) && !strings.Contains(strings.ToLower(err.Error()), "grace") && !strings.Contains(err.Error(), "communityBatch") {
			t.Errorf("%s=%q: error %q does not name the field", name, val, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := engine.DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	c := engine.DefaultConfig()
	c.MaxFailures = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "maxFailures") {
		t.Fatalf("got %v, want an error naming maxFailures", err)
	}
}
