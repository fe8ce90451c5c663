package sdk

import "strconv"

// Builtin is the built-in policy (docs/engine.md, "Quotas"), the same rules and messages as
// the host's own: a request for Batch new items with Used existing is allowed
// iff Batch ≤ the batch limit and Used+Batch ≤ the total limit. A policy can
// adjust in.Limits and call it, so its messages match the host's.
func Builtin(in Input) Output {
	var out Output
	BuiltinInto(&in, &out)
	return out
}

// BuiltinInto is Builtin for DeciderInto: it writes every field of *out.
func BuiltinInto(in *Input, out *Output) {
	// Field by field: a WebAssembly guest copies anything over 16 bytes
	// through a call to the runtime's memmove.
	out.Limits.Total, out.Limits.Batch = in.Limits.Total, in.Limits.Batch
	// The common answer first, as an if body: in a WebAssembly guest built
	// by Go each skipped case of a switch is a jump through the function's
	// loop head, a return to the host (docs/benchmarks-policy.md).
	if in.Batch > 0 && in.Used >= 0 &&
		(!in.Limits.Batch.Limited || in.Batch <= in.Limits.Batch.N) &&
		(!in.Limits.Total.Limited || in.Batch <= in.Limits.Total.N-in.Used) {
		out.Allowed, out.Reason, out.Message = true, ReasonOK, ""
		return
	}
	out.Allowed, out.Reason, out.Message = false, "", ""
	switch { // the refusals: one of them holds here
	case in.Batch <= 0:
		out.Reason, out.Message = ReasonInvalidBatch, "batch must be at least 1, got "+itoa(in.Batch)
	case in.Used < 0:
		out.Reason, out.Message = ReasonInvalidBatch, "used must not be negative, got "+itoa(in.Used)
	case in.Limits.Batch.Limited && in.Batch > in.Limits.Batch.N:
		out.Reason, out.Message = ReasonBatchExceeded, "batch of "+itoa(in.Batch)+" exceeds the batch limit of "+itoa(in.Limits.Batch.N)
	case in.Limits.Total.Limited && in.Batch > in.Limits.Total.N-in.Used:
		out.Reason, out.Message = ReasonTotalExceeded, itoa(in.Used)+" used + "+itoa(in.Batch)+" requested exceeds the total limit of "+itoa(in.Limits.Total.N)
	}
}

// ParseLimit parses a raw quota field (customField1/2): empty or blank means
// unlimited; otherwise a base-10 integer. ok is false when the field is not
// a number.
func ParseLimit(field string) (l Limit, ok bool) {
	start, end := 0, len(field)
	for start < end && field[start] == ' ' {
		start++
	}
	for end > start && field[end-1] == ' ' {
		end--
	}
	if start == end {
		return Unlimited(), true
	}
	n, err := strconv.ParseInt(field[start:end], 10, 64)
	if err != nil {
		return Unlimited(), false
	}
	return Max(n), true
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
