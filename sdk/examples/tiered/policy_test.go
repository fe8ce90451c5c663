package main

import (
	"testing"

	"github.com/licensehost/licensehost/sdk"
)

func TestTiered(t *testing.T) {
	lic := sdk.Limits{Total: sdk.Max(1000), Batch: sdk.Max(10)}
	for _, c := range []struct {
		name string
		in   sdk.Input
		want sdk.Output
	}{
		{"lifetime unlimited batch", sdk.Input{LicenseType: lifetime, Status: sdk.StatusActive, IsSponsored: true, Limits: lic, Batch: 500},
			sdk.Output{Allowed: true, Limits: sdk.Limits{Total: sdk.Max(1000)}, Reason: sdk.ReasonOK}},
		{"lifetime keeps grace_limited cap", sdk.Input{LicenseType: lifetime, Status: sdk.StatusGraceLimited, IsSponsored: true, Limits: lic, Batch: 11},
			sdk.Output{Limits: lic, Reason: sdk.ReasonBatchExceeded, Message: "batch of 11 exceeds the batch limit of 10"}},
		{"annual total from customField1, batch 50", sdk.Input{LicenseType: annual, Status: sdk.StatusActive, IsSponsored: true, CustomField1: "60", Used: 20, Batch: 41},
			sdk.Output{Limits: sdk.Limits{Total: sdk.Max(60), Batch: sdk.Max(50)}, Reason: sdk.ReasonTotalExceeded, Message: "20 used + 41 requested exceeds the total limit of 60"}},
		{"annual batch cap", sdk.Input{LicenseType: annual, Status: sdk.StatusActive, IsSponsored: true, Batch: 51},
			sdk.Output{Limits: sdk.Limits{Batch: sdk.Max(50)}, Reason: sdk.ReasonBatchExceeded, Message: "batch of 51 exceeds the batch limit of 50"}},
		{"community untouched", sdk.Input{LicenseType: lifetime, Status: sdk.StatusExpired, Limits: sdk.Limits{Total: sdk.Max(200), Batch: sdk.Max(20)}, Batch: 21},
			sdk.Output{Limits: sdk.Limits{Total: sdk.Max(200), Batch: sdk.Max(20)}, Reason: sdk.ReasonBatchExceeded, Message: "batch of 21 exceeds the batch limit of 20"}},
	} {
		if got := decide(c.in); got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}
