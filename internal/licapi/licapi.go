// Package licapi is the fixed contract between the host and a license server
// (docs/remote.md): its routes, request and answer types, the validation a
// server applies to a request, and the lenient decoding of an answer. The
// host's client (internal/remote), the on-prem server (internal/licserver)
// and the test server (internal/remotetest) all use it, so the contract is
// written down once. Field names are fixed: never rename them.
//
// Stdlib only, so engine can name these types in its RemoteClient seam.
package licapi

import "encoding/json"

// Routes of the contract.
const (
	PathVerify       = "/api/license/verify"
	PathSwitchDevice = "/api/license/switch-device"
)

// DeviceInfo prefixes the host sends in VerifyRequest.DeviceInfo.
const (
	DeviceInfoActivation = "sponsor-activation:"
	DeviceInfoHeartbeat  = "heartbeat:"
)

// ActivatedAtLayout is the layout of License.ActivatedAt.
const ActivatedAtLayout = "2006-01-02 15:04:05"

// VerifyRequest is the body of POST /api/license/verify.
type VerifyRequest struct {
	LicenseKey string `json:"licenseKey"`
	MachineID  string `json:"machineId"`
	DeviceInfo string `json:"deviceInfo"`
}

// SwitchRequest is the body of POST /api/license/switch-device.
type SwitchRequest struct {
	LicenseKey   string `json:"licenseKey"`
	OldMachineID string `json:"oldMachineId"`
	NewMachineID string `json:"newMachineId"`
	Reason       string `json:"reason"`
}

// Answer is the body of every answer:
// {"success","message","details"?,"license"?,"token"?}. Decode one with
// DecodeAnswer, which reads every field leniently; a server encodes one with
// encoding/json.
type Answer struct {
	// Success is the verdict. Decoding accepts a bool, "true"/"false"/"1"/"0"
	// (any case, trimmed) and the numbers 1/0; anything else leaves it
	// invalid (Success.Valid false), and the answer has no verdict.
	Success FlexBool `json:"success"`
	// Message is any JSON value rendered as text (objects as compact JSON).
	Message Text `json:"message"`
	// Details is the "details" value as received; nil when missing or null.
	Details json.RawMessage `json:"details,omitempty"`
	// License is nil when the answer carries no license object (missing,
	// null, or not an object).
	License *License `json:"license,omitempty"`
	// Token is a string or a number; anything else decodes to "".
	Token Token `json:"token,omitempty"`
}

// License is the contract's license object. Every field may be missing,
// empty or of the other JSON type when decoded: the field types read it
// leniently and never fail, and Raw keeps the object exactly as received. A
// server encodes every field (a missing expiry as null).
type License struct {
	LicenseKey             FlexString `json:"licenseKey"`
	ApplicationName        FlexString `json:"applicationName"`
	LicenseTypeName        FlexString `json:"licenseTypeName"`
	LicenseTypeDisplayName FlexString `json:"licenseTypeDisplayName"`
	Status                 FlexString `json:"status"`
	MaxUses                FlexInt    `json:"maxUses"` // 0 = unlimited
	CurrentUses            FlexInt    `json:"currentUses"`
	MaxDevices             FlexInt    `json:"maxDevices"` // 0 = unlimited
	CurrentDevices         FlexInt    `json:"currentDevices"`
	CustomField1           FlexString `json:"customField1"` // total quota; "" = unlimited
	CustomField2           FlexString `json:"customField2"` // batch quota; "" = unlimited
	CustomField3           FlexString `json:"customField3"`
	ExpiresAt              FlexTime   `json:"expiresAt"`   // RFC 3339; zero (null) = never, missing or unparseable
	ActivatedAt            FlexString `json:"activatedAt"` // ActivatedAtLayout, in Timezone
	Timezone               FlexString `json:"timezone"`
	ClientIP               FlexString `json:"clientIP"`

	// Raw is the object as received (decoding only).
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes an object field by field through the lenient field
// types and keeps it in Raw. Anything but an object leaves the zero License
// with Raw nil (Answer then drops it).
func (l *License) UnmarshalJSON(b []byte) error {
	*l = License{}
	b = trimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	type fields License // without this method
	var f fields
	if err := json.Unmarshal(b, &f); err != nil {
		return nil // cannot happen for a valid object: the field types never fail
	}
	*l = License(f)
	l.Raw = append(json.RawMessage(nil), b...)
	return nil
}
