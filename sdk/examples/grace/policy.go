// Command grace is a grace-aware policy: while the license server has been
// unreachable too often (grace_limited) a request may create at most 20
// items, and the refusal says why; in grace an allowed answer says how much
// grace is left. Otherwise the built-in rules apply.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o grace.wasm .  # WebAssembly
//	go build -trimpath -o grace-plugin .                                              # go-plugin
package main

import (
	"strconv"

	"github.com/licensehost/licensehost/sdk"
)

// ReasonGraceLimited is answered when a batch exceeds the grace_limited cap.
const ReasonGraceLimited = "grace_limited_batch"

const graceBatch = 20

func decide(in sdk.Input) sdk.Output {
	switch in.Status {
	case sdk.StatusGraceLimited:
		in.Limits.Batch = in.Limits.Batch.Min(sdk.Max(graceBatch))
		out := sdk.Builtin(in)
		if out.Reason == sdk.ReasonBatchExceeded {
			out.Reason = ReasonGraceLimited
			out.Message = "the license server has not answered for a while: at most " +
				strconv.Itoa(graceBatch) + " items per request until it does"
		}
		return out
	case sdk.StatusGrace:
		out := sdk.Builtin(in)
		if out.Allowed && in.GraceLeft > 0 {
			out.Message = "offline grace: " + strconv.FormatInt(int64(in.GraceLeft.Hours()), 10) + "h left"
		}
		return out
	}
	return sdk.Builtin(in)
}
