package engine

import (
	"context"
	"fmt"
)

// BuiltinPolicyName names the built-in policy in quota answers.
const BuiltinPolicyName = "builtin"

// Builtin is the built-in quota policy of SPEC §5 and the fallback whenever a
// policy module fails: a request for Batch new items with Used existing is
// allowed iff Batch ≤ the batch limit and Used+Batch ≤ the total limit (nil
// limits are unlimited). The limits it applies are the ones in the input,
// which the engine has already resolved (license, community or grace-limited).
type Builtin struct{}

var _ Policy = Builtin{}

// Decide implements Policy; it never returns an error.
func (Builtin) Decide(_ context.Context, in QuotaInput) (QuotaDecision, error) {
	return DecideBuiltin(in), nil
}

// Close implements Policy.
func (Builtin) Close(context.Context) error { return nil }

// DecideBuiltin is the pure SPEC §5 decision.
func DecideBuiltin(in QuotaInput) QuotaDecision {
	d := QuotaDecision{Limits: in.Limits, Policy: BuiltinPolicyName}
	switch {
	case in.Batch <= 0:
		d.Reason, d.Message = ReasonInvalidBatch, fmt.Sprintf("batch must be at least 1, got %d", in.Batch)
	case in.Used < 0:
		d.Reason, d.Message = ReasonInvalidBatch, fmt.Sprintf("used must not be negative, got %d", in.Used)
	case in.Limits.Batch != nil && in.Batch > *in.Limits.Batch:
		d.Reason, d.Message = ReasonBatchExceeded, fmt.Sprintf("batch of %d exceeds the batch limit of %d", in.Batch, *in.Limits.Batch)
	case in.Limits.Total != nil && in.Batch > *in.Limits.Total-in.Used:
		d.Reason, d.Message = ReasonTotalExceeded, fmt.Sprintf("%d used + %d requested exceeds the total limit of %d", in.Used, in.Batch, *in.Limits.Total)
	default:
		d.Allowed, d.Reason = true, ReasonOK
	}
	return d
}

// Int64 returns a pointer to v, for literal limits.
func Int64(v int64) *int64 { return &v }
