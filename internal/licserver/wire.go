package licserver

// Wire types of the client contract (SPEC §1, seed 002 §2). Field names are
// fixed; never rename them.

// Client routes.
const (
	PathVerify       = "/api/license/verify"
	PathSwitchDevice = "/api/license/switch-device"
)

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

// Answer is the body of every client answer, with the HTTP status it is
// sent with.
type Answer struct {
	Status  int          `json:"-"`
	Success bool         `json:"success"`
	Message string       `json:"message"`
	Details string       `json:"details,omitempty"` // a stable English code, e.g. "license_suspended"
	License *WireLicense `json:"license,omitempty"`
	Token   string       `json:"token,omitempty"`
	// RetryAfter is sent as the Retry-After header on 429.
	RetryAfter int `json:"-"`
}

// WireLicense is the contract's license object. Every field is always
// present; expiresAt is null for a license that never expires; 0 in
// maxUses/maxDevices means unlimited.
type WireLicense struct {
	LicenseKey             string  `json:"licenseKey"`
	ApplicationName        string  `json:"applicationName"`
	LicenseTypeName        string  `json:"licenseTypeName"`
	LicenseTypeDisplayName string  `json:"licenseTypeDisplayName"`
	Status                 string  `json:"status"`
	MaxUses                int64   `json:"maxUses"`
	CurrentUses            int64   `json:"currentUses"`
	MaxDevices             int64   `json:"maxDevices"`
	CurrentDevices         int64   `json:"currentDevices"`
	CustomField1           string  `json:"customField1"`
	CustomField2           string  `json:"customField2"`
	CustomField3           string  `json:"customField3"`
	ExpiresAt              *string `json:"expiresAt"`
	ActivatedAt            string  `json:"activatedAt"` // "2006-01-02 15:04:05" in Timezone
	Timezone               string  `json:"timezone"`
	ClientIP               string  `json:"clientIP"`
}

// Messages, in the seed's style.
const (
	MsgVerifyOK       = "密钥验证成功"
	MsgSwitchOK       = "设备切换成功"
	MsgBadRequest     = "请求格式错误"
	MsgNoKey          = "缺少密钥"
	MsgNoMachine      = "缺少机器码"
	MsgSameMachine    = "新旧机器码相同"
	MsgNotFound       = "密钥不存在"
	MsgSuspended      = "密钥已被暂停"
	MsgRevoked        = "密钥已被吊销"
	MsgExpired        = "密钥已过期"
	MsgDeviceLimit    = "设备数量已达上限"
	MsgUseLimit       = "密钥使用次数已达上限"
	MsgOldNotBound    = "旧设备未绑定"
	MsgDeviceSwitched = "该设备的授权已切换到其他设备"
	MsgRateLimited    = "请求过于频繁,请稍后再试"
	MsgInternal       = "服务器内部错误"
)

// DeviceInfo prefixes the host sends (SPEC §1).
const (
	DeviceInfoActivation = "sponsor-activation:"
	DeviceInfoHeartbeat  = "heartbeat:"
)

// ActivatedAtLayout is the contract's activatedAt layout.
const ActivatedAtLayout = "2006-01-02 15:04:05"
