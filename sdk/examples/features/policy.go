// Command features decides by feature license (docs/features.md): the host
// passes the installation's enabled features in Input.Features.
//
//   - creating in the "cdc-jobs" resource (real-time CDC sync jobs) needs
//     the feature data.cdc;
//   - a batch of more than 20 items at once needs the feature bulk.create;
//   - everything else follows the built-in rules.
//
// Refusals carry the reason code "feature_not_licensed" and name the
// feature, so an application can tell the user which license to get.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o features.wasm .  # WebAssembly
//	go build -trimpath -o features-plugin .                                              # go-plugin
package main

import (
	"slices"

	"github.com/licensehost/licensehost/sdk"
)

// ReasonFeatureNotLicensed is this policy's own refusal code.
const ReasonFeatureNotLicensed = "feature_not_licensed"

const (
	cdcResource = "cdc-jobs"
	cdcFeature  = "data.cdc"
	bulkFeature = "bulk.create"
	bulkOver    = 20
)

func decide(in sdk.Input) sdk.Output {
	need := ""
	switch {
	case in.Resource == cdcResource && !slices.Contains(in.Features, cdcFeature):
		need = cdcFeature
	case in.Batch > bulkOver && !slices.Contains(in.Features, bulkFeature):
		need = bulkFeature
	}
	if need != "" {
		return sdk.Output{Limits: in.Limits, Reason: ReasonFeatureNotLicensed,
			Message: "this needs the feature " + need + ", which no license in force covers"}
	}
	return sdk.Builtin(in)
}
