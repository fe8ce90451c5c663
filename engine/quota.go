package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// BuiltinPolicyName names the built-in policy in quota answers.
const BuiltinPolicyName = "builtin"

// Builtin is the built-in quota policy of docs/engine.md (Quotas) and the fallback whenever a
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

// DecideBuiltin is the pure quota rule of docs/engine.md.
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

// QuotaRequest asks whether Batch more items may be created.
type QuotaRequest struct {
	Batch    int64
	Used     *int64 // check only: the caller's count; nil = the host's counter
	Resource string // the usage counter / resource name; "" = default
	// IdempotencyKey (consume only): a key seen before returns the first
	// answer and counts once.
	IdempotencyKey string
}

// QuotaAnswer is a quota decision with the usage it was made against.
type QuotaAnswer struct {
	QuotaDecision
	Used     int64 `json:"used"` // check: the usage considered; consume: the counter after the call
	Replayed bool  `json:"replayed,omitempty"`
}

func (r QuotaRequest) validate() error {
	if r.Batch < 1 || r.Batch > MaxBatch {
		return fmt.Errorf("%w: batch must be between 1 and %d", ErrInvalidRequest, int64(MaxBatch))
	}
	if r.Used != nil && (*r.Used < 0 || *r.Used > MaxBatch) {
		return fmt.Errorf("%w: used must be between 0 and %d", ErrInvalidRequest, int64(MaxBatch))
	}
	if err := validateToken("resource", r.Resource, MaxResourceBytes); err != nil {
		return err
	}
	return validateToken("idempotencyKey", r.IdempotencyKey, MaxIdempotencyKeyBytes)
}

// quotaInput builds the policy input for the current evaluation.
func (e *Engine) quotaInput(rec Record, ev Evaluation, req QuotaRequest) QuotaInput {
	in := QuotaInput{
		Status: ev.Status, IsSponsored: ev.IsSponsored, Limits: ev.Limits,
		Batch: req.Batch, Resource: req.Resource, GraceLeft: ev.GraceLeft, Now: ev.Now,
	}
	if ev.IsSponsored {
		in.LicenseType = rec.LastLicenseTypeName
		f := e.customFields(rec.License)
		in.CustomField1, in.CustomField2, in.CustomField3 = f[0], f[1], f[2]
	}
	return in
}

// licenseFields are the custom fields read from one license object.
type licenseFields struct {
	license json.RawMessage
	fields  [3]string
}

// customFields reads customField1–3 of a license object, remembering the
// last object read: the license stays the same from one quota request to
// the next, and decoding it each time cost more than the decision.
func (e *Engine) customFields(license json.RawMessage) [3]string {
	if f := e.fields.Load(); f != nil && bytes.Equal(f.license, license) {
		return f.fields
	}
	var lic struct {
		F1 any `json:"customField1"`
		F2 any `json:"customField2"`
		F3 any `json:"customField3"`
	}
	f := &licenseFields{license: bytes.Clone(license)}
	if len(license) > 0 && json.Unmarshal(license, &lic) == nil {
		f.fields = [3]string{rawField(lic.F1), rawField(lic.F2), rawField(lic.F3)}
	}
	e.fields.Store(f)
	return f.fields
}

// rawField renders a customField that may be a string or a number.
func rawField(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// decide asks the policy and falls back to the builtin decision on any
// policy error.
func (e *Engine) decide(ctx context.Context, in QuotaInput) QuotaDecision {
	d, err := e.policy.Decide(ctx, in)
	fallback := err != nil
	if fallback {
		e.log.Warn("quota policy failed; using the builtin decision", "licenseType", in.LicenseType, "err", err)
		d = DecideBuiltin(in)
		d.Policy = BuiltinPolicyName + " (fallback)"
	}
	if e.obs != nil {
		e.obs.QuotaDecision(d, fallback)
	}
	return d
}

// quotaRequest validates req and gathers what a policy decides on: the
// evaluated status now, its limits (an offline activation's when no online
// license stands) and the enabled features. Used is left to the caller.
func (e *Engine) quotaRequest(ctx context.Context, req QuotaRequest) (QuotaInput, Evaluation, error) {
	if err := req.validate(); err != nil {
		return QuotaInput{}, Evaluation{}, err
	}
	rec, now, err := e.current(ctx)
	if err != nil {
		return QuotaInput{}, Evaluation{}, err
	}
	ev := e.evaluate(rec, now)
	in := e.quotaInput(rec, ev, req)
	if err := e.applyOffline(ctx, &in, ev); err != nil {
		return QuotaInput{}, Evaluation{}, err
	}
	if in.Features, err = e.enabledFeatures(ctx, rec, ev, now); err != nil {
		return QuotaInput{}, Evaluation{}, err
	}
	return in, ev, nil
}

// CheckQuota answers whether req.Batch more items may be created now. It
// writes nothing but an event when refused.
func (e *Engine) CheckQuota(ctx context.Context, req QuotaRequest) (QuotaAnswer, error) {
	req.IdempotencyKey = ""
	in, ev, err := e.quotaRequest(ctx, req)
	if err != nil {
		return QuotaAnswer{}, err
	}
	if req.Used != nil {
		in.Used = *req.Used
	} else if in.Used, err = e.store.Usage(ctx, req.Resource); err != nil {
		return QuotaAnswer{}, err
	}
	d := e.decide(ctx, in)
	if !d.Allowed {
		e.refused(ctx, ev.Now, "check", in, d)
	}
	return QuotaAnswer{QuotaDecision: d, Used: in.Used}, nil
}

// ConsumeQuota atomically checks and counts req.Batch items against the
// host's usage counter. The answer is durable before it returns.
func (e *Engine) ConsumeQuota(ctx context.Context, req QuotaRequest) (QuotaAnswer, error) {
	req.Used = nil
	in, ev, err := e.quotaRequest(ctx, req)
	if err != nil {
		return QuotaAnswer{}, err
	}
	var last QuotaDecision
	res, err := e.store.Consume(ctx, ConsumeRequest{Counter: req.Resource, N: req.Batch, IdempotencyKey: req.IdempotencyKey, Now: ev.Now},
		func(used int64) ([]byte, bool, error) {
			in.Used = used
			d := e.decide(ctx, in)
			last = d
			after := used
			if d.Allowed {
				after += req.Batch
			}
			b, err := json.Marshal(QuotaAnswer{QuotaDecision: d, Used: after})
			return b, d.Allowed, err
		})
	if err != nil {
		return QuotaAnswer{}, err
	}
	var ans QuotaAnswer
	if err := json.Unmarshal(res.Answer, &ans); err != nil {
		return QuotaAnswer{}, fmt.Errorf("stored quota answer is unreadable: %w", err)
	}
	ans.Replayed = res.Replayed
	if !res.Replayed && !ans.Allowed {
		e.refused(ctx, ev.Now, "consume", in, last)
	}
	return ans, nil
}

func (e *Engine) refused(ctx context.Context, now time.Time, op string, in QuotaInput, d QuotaDecision) {
	msg := fmt.Sprintf("quota %s refused by %s: %s (%s)", op, d.Policy, d.Reason, d.Message)
	e.log.Info(msg, "batch", in.Batch, "used", in.Used, "status", in.Status)
	if err := e.store.AppendEvent(ctx, Event{At: now, Kind: EventQuotaRefused, Message: msg}); err != nil {
		e.log.Warn("could not record quota refusal", "err", err)
	}
}
