package main

import (
	"testing"

	"github.com/licensehost/licensehost/sdk"
)

func TestFeatures(t *testing.T) {
	lic := sdk.Limits{Total: sdk.Max(1000), Batch: sdk.Max(100)}
	for _, c := range []struct {
		name   string
		in     sdk.Input
		allow  bool
		reason string
	}{
		{"cdc job with data.cdc", sdk.Input{Resource: cdcResource, Features: []string{"data.cdc", "data.source"}, Limits: lic, Batch: 1}, true, sdk.ReasonOK},
		{"cdc job without data.cdc", sdk.Input{Resource: cdcResource, Features: []string{"data.source"}, Limits: lic, Batch: 1}, false, ReasonFeatureNotLicensed},
		{"cdc job, no features at all", sdk.Input{Resource: cdcResource, Limits: lic, Batch: 1}, false, ReasonFeatureNotLicensed},
		{"other resource without data.cdc", sdk.Input{Resource: "sources", Limits: lic, Batch: 1}, true, sdk.ReasonOK},
		{"bulk without bulk.create", sdk.Input{Features: []string{"data.cdc"}, Limits: lic, Batch: 21}, false, ReasonFeatureNotLicensed},
		{"bulk of 20 needs nothing", sdk.Input{Limits: lic, Batch: 20}, true, sdk.ReasonOK},
		{"bulk with bulk.create, within limits", sdk.Input{Features: []string{"bulk.create"}, Limits: lic, Batch: 50}, true, sdk.ReasonOK},
		{"licensed feature still bound by the limits", sdk.Input{Features: []string{"bulk.create"}, Limits: lic, Batch: 101}, false, sdk.ReasonBatchExceeded},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := decide(c.in)
			if out.Allowed != c.allow || out.Reason != c.reason {
				t.Fatalf("decide = %+v, want allowed %v reason %q", out, c.allow, c.reason)
			}
			if !out.Allowed && out.Reason == ReasonFeatureNotLicensed && out.Message == "" {
				t.Fatal("a refusal without a message")
			}
		})
	}
}
