package licapi

import "strings"

// MaxFieldLen bounds licenseKey, machineId, deviceInfo and reason in a
// request.
const MaxFieldLen = 512

// Messages, in the seed's style: what a server answers and a host shows.
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

// Invalid is why a request breaks the contract: the rejection a server
// answers with, HTTP 400.
type Invalid struct{ Message, Details string }

// Answer returns the rejection.
func (v *Invalid) Answer() Answer { return Fail(v.Message, v.Details) }

var (
	invalidNoKey     = &Invalid{MsgNoKey, "missing_license_key"}
	invalidNoMachine = &Invalid{MsgNoMachine, "missing_machine_id"}
	invalidField     = &Invalid{MsgBadRequest, "invalid_field"}
	invalidSame      = &Invalid{MsgSameMachine, "same_machine_id"}
)

// Validate checks a verify request as a server must before looking the key
// up: key and machine present (not blank), every field at most MaxFieldLen
// bytes without control characters. nil means valid.
func (r VerifyRequest) Validate() *Invalid {
	switch {
	case blank(r.LicenseKey):
		return invalidNoKey
	case blank(r.MachineID):
		return invalidNoMachine
	case !ValidField(r.LicenseKey) || !ValidField(r.MachineID) || !ValidField(r.DeviceInfo):
		return invalidField
	}
	return nil
}

// Validate checks a switch request as Validate does a verify request, and
// that the two machines differ.
func (r SwitchRequest) Validate() *Invalid {
	switch {
	case blank(r.LicenseKey):
		return invalidNoKey
	case blank(r.OldMachineID) || blank(r.NewMachineID):
		return invalidNoMachine
	case !ValidField(r.LicenseKey) || !ValidField(r.OldMachineID) || !ValidField(r.NewMachineID) || !ValidField(r.Reason):
		return invalidField
	case r.OldMachineID == r.NewMachineID:
		return invalidSame
	}
	return nil
}

// ValidField reports whether a request field is at most MaxFieldLen bytes
// and free of ASCII control characters (so it can also be signed without
// ambiguity, see internal/signing).
func ValidField(s string) bool {
	if len(s) > MaxFieldLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }
