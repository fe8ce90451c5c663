package engine_test

import (
	"strings"
	"testing"

	"github.com/licensehost/licensehost/engine"
)

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
