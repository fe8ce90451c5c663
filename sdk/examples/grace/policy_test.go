package main

import (
	"testing"
	"time"

	"github.com/licensehost/licensehost/sdk"
)

func TestGrace(t *testing.T) {
	in := sdk.Input{Status: sdk.StatusGraceLimited, IsSponsored: true, Batch: 21}
	if out := decide(in); out.Allowed || out.Reason != ReasonGraceLimited {
		t.Errorf("grace_limited batch 21: %+v", out)
	}
	in.Batch = 20
	if out := decide(in); !out.Allowed {
		t.Errorf("grace_limited batch 20: %+v", out)
	}
	in = sdk.Input{Status: sdk.StatusGrace, IsSponsored: true, Batch: 21, GraceLeft: 50 * time.Hour}
	if out := decide(in); !out.Allowed || out.Message != "offline grace: 50h left" {
		t.Errorf("grace: %+v", out)
	}
}
