// Command tiered applies rules per license type:
//
//   - "终生赞助版" (lifetime sponsor): no batch limit, the license's total;
//   - "年度版" (annual): the total from customField1, batch capped at 50;
//   - anything else: the built-in rules.
//
// The host has already resolved in.Limits for the status (community limits
// when not sponsored, batch capped at 20 in grace_limited); tiered widens
// only a sponsored license and never lifts the grace_limited cap.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o tiered.wasm .  # WebAssembly
//	go build -trimpath -o tiered-plugin .                                              # go-plugin
package main

import "github.com/licensehost/licensehost/sdk"

const (
	lifetime = "终生赞助版"
	annual   = "年度版"
)

func decide(in sdk.Input) sdk.Output {
	if !in.IsSponsored {
		return sdk.Builtin(in)
	}
	switch in.LicenseType {
	case lifetime:
		if in.Status != sdk.StatusGraceLimited {
			in.Limits.Batch = sdk.Unlimited()
		}
	case annual:
		if total, ok := sdk.ParseLimit(in.CustomField1); ok {
			in.Limits.Total = total
		}
		in.Limits.Batch = in.Limits.Batch.Min(sdk.Max(50))
	}
	return sdk.Builtin(in)
}
