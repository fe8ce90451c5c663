// Package wire converts between the engine's quota types and the policy ABI
// of package sdk, and holds the errors every policy backend reports, so the
// loader can name why it fell back to the built-in policy.
package wire

import (
	"strings"
	"unicode/utf8"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/sdk"
)

// MaxMessage is the longest message kept from a policy's answer, in bytes;
// longer ones are cut.
const MaxMessage = 1024

// MaxReason is the longest reason code accepted from a policy, in bytes.
const MaxReason = 64

// Input converts an engine input to the SDK's.
func Input(in engine.QuotaInput) sdk.Input {
	return sdk.Input{
		LicenseType:  in.LicenseType,
		Status:       string(in.Status),
		IsSponsored:  in.IsSponsored,
		Limits:       toSDK(in.Limits),
		CustomField1: in.CustomField1,
		CustomField2: in.CustomField2,
		CustomField3: in.CustomField3,
		Used:         in.Used,
		Batch:        in.Batch,
		Resource:     in.Resource,
		GraceLeft:    in.GraceLeft,
		Features:     in.Features,
		Now:          in.Now,
	}
}

// AppendInput appends the ABI v1 encoding of in to dst: sdk.AppendInput,
// the one codec of the policy ABI (docs/policy-abi.md §2).
func AppendInput(dst []byte, in *engine.QuotaInput) []byte {
	return sdk.AppendInput(dst, Input(*in))
}

// Decision decodes an ABI v1 output into a decision named policy. A message
// that is not UTF-8 is repaired and a long one cut; an empty reason becomes
// "ok" or "denied"; an over-long or non-printable reason is an error
// wrapping ErrBadOutput.
func Decision(b []byte, policy string) (engine.QuotaDecision, error) {
	return decision(b, policy)
}

// decision decodes an answer with sdk.DecodeOutput and checks it.
func decision(b []byte, policy string) (engine.QuotaDecision, error) {
	out, err := sdk.DecodeOutput(b)
	if err != nil {
		return engine.QuotaDecision{}, &CallError{Kind: ErrBadOutput, Err: err}
	}
	d := engine.QuotaDecision{
		Allowed: out.Allowed,
		Limits:  fromSDK(out.Limits),
		Reason:  out.Reason,
		Message: out.Message,
		Policy:  policy,
	}
	switch {
	case d.Reason == "" && d.Allowed:
		d.Reason = engine.ReasonOK
	case d.Reason == "":
		d.Reason = ReasonDenied
	case len(d.Reason) > MaxReason || !printableASCII(d.Reason):
		return engine.QuotaDecision{}, &CallError{Kind: ErrBadOutput, Err: errString("reason code is not a short printable ASCII word")}
	}
	if !utf8.ValidString(d.Message) {
		d.Message = strings.ToValidUTF8(d.Message, "\uFFFD")
	}
	if len(d.Message) > MaxMessage {
		cut := MaxMessage
		for cut > 0 && !utf8.RuneStart(d.Message[cut]) {
			cut--
		}
		d.Message = d.Message[:cut] + "…"
	}
	return d, nil
}

// ReasonDenied is the reason given to a refusal that named none.
const ReasonDenied = "denied"

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func toSDK(l engine.Limits) sdk.Limits {
	var s sdk.Limits
	if l.Total != nil {
		s.Total = sdk.Max(*l.Total)
	}
	if l.Batch != nil {
		s.Batch = sdk.Max(*l.Batch)
	}
	return s
}

func fromSDK(s sdk.Limits) engine.Limits {
	var l engine.Limits
	if s.Total.Limited {
		l.Total = engine.Int64(s.Total.N)
	}
	if s.Batch.Limited {
		l.Batch = engine.Int64(s.Batch.N)
	}
	return l
}

type errString string

func (e errString) Error() string { return string(e) }
