// Package wire converts between the engine's quota types and the policy ABI
// of package sdk, and holds the errors every policy backend reports, so the
// loader can name why it fell back to the built-in policy.
package wire

import (
	"encoding/binary"
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

// AppendInput appends the ABI v1 encoding of in to dst: the bytes of
// sdk.AppendInput(dst, Input(in)), written without building the sdk.Input.
func AppendInput(dst []byte, in *engine.QuotaInput) []byte {
	var flags byte
	if in.IsSponsored {
		flags |= 1
	}
	var total, batch int64
	if in.Limits.Total != nil {
		flags, total = flags|2, *in.Limits.Total
	}
	if in.Limits.Batch != nil {
		flags, batch = flags|4, *in.Limits.Batch
	}
	var now int64
	if !in.Now.IsZero() {
		now = in.Now.UnixNano()
	}
	dst = append(dst, sdk.ABIVersion, flags, 0, 0)
	for _, v := range [6]int64{total, batch, in.Used, in.Batch, int64(in.GraceLeft), now} {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
	}
	for _, s := range [6]string{in.LicenseType, string(in.Status), in.CustomField1, in.CustomField2, in.CustomField3, in.Resource} {
		dst = appendString(dst, s)
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(in.Features)))
	for _, f := range in.Features {
		dst = appendString(dst, f)
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// Decision decodes an ABI v1 output into a decision named policy. A message
// that is not UTF-8 is repaired and a long one cut; an empty reason becomes
// "ok" or "denied"; an over-long or non-printable reason is an error
// wrapping ErrBadOutput.
func Decision(b []byte, policy string) (engine.QuotaDecision, error) {
	return DecisionFor(b, policy, nil)
}

// DecisionFor is Decision for an answer to in (which may be nil): limits
// equal to in's share its pointers and the reason codes of package engine
// are its constants, so an answer without a message allocates nothing.
func DecisionFor(b []byte, policy string, in *engine.QuotaInput) (engine.QuotaDecision, error) {
	if d, ok := quickDecision(b, policy, in); ok {
		return d, nil
	}
	return carefulDecision(b, policy)
}

// carefulDecision decodes any answer, repairing what Decision repairs.
func carefulDecision(b []byte, policy string) (engine.QuotaDecision, error) {
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

// quickDecision decodes the usual answer: well formed, a known or empty
// reason code and a short valid message. ok is false for anything else,
// which Decision then decodes (and repairs or refuses) the careful way.
func quickDecision(b []byte, policy string, in *engine.QuotaInput) (d engine.QuotaDecision, ok bool) {
	const fixed = 20
	if len(b) < fixed+8 || b[0] != sdk.ABIVersion || b[1]&^7 != 0 || b[2]|b[3] != 0 {
		return d, false
	}
	rn := uint64(binary.LittleEndian.Uint32(b[fixed:]))
	if rn > uint64(len(b)-fixed-8) {
		return d, false
	}
	reason := b[fixed+4 : fixed+4+rn]
	msg := b[fixed+8+rn:]
	if uint64(binary.LittleEndian.Uint32(b[fixed+4+rn:])) != uint64(len(msg)) ||
		len(msg) > MaxMessage || !utf8.Valid(msg) {
		return d, false
	}
	d.Allowed = b[1]&1 != 0
	switch string(reason) { // a switch on string(bytes) does not allocate
	case "":
		d.Reason = ReasonDenied
		if d.Allowed {
			d.Reason = engine.ReasonOK
		}
	case engine.ReasonOK:
		d.Reason = engine.ReasonOK
	case engine.ReasonBatchExceeded:
		d.Reason = engine.ReasonBatchExceeded
	case engine.ReasonTotalExceeded:
		d.Reason = engine.ReasonTotalExceeded
	case engine.ReasonInvalidBatch:
		d.Reason = engine.ReasonInvalidBatch
	case ReasonDenied:
		d.Reason = ReasonDenied
	default:
		return d, false
	}
	if len(msg) > 0 {
		d.Message = string(msg)
	}
	var prev engine.Limits
	if in != nil {
		prev = in.Limits
	}
	if b[1]&2 != 0 {
		d.Limits.Total = sameOrNew(prev.Total, int64(binary.LittleEndian.Uint64(b[4:])))
	}
	if b[1]&4 != 0 {
		d.Limits.Batch = sameOrNew(prev.Batch, int64(binary.LittleEndian.Uint64(b[12:])))
	}
	d.Policy = policy
	return d, true
}

// sameOrNew is p when it points to v, else a new pointer to v. Decisions
// are read-only, so sharing the input's limit is safe (engine.DecideBuiltin
// does the same).
func sameOrNew(p *int64, v int64) *int64 {
	if p != nil && *p == v {
		return p
	}
	return engine.Int64(v)
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
