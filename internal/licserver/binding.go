package licserver

import (
	"slices"
	"strings"
	"time"

	"github.com/licensehost/licensehost/internal/licapi"
	"github.com/licensehost/licensehost/internal/licserver/store"
)

// The binding rules of the client contract: what a verify or a switch does
// to one license's devices. They are pure functions of the license, the
// request and the time. Service applies them under the key's lock to a
// snapshot and writes the result; internal/remotetest applies them to the
// licenses it keeps in memory, so the test server binds devices exactly as
// licensed does (docs/licensed.md).

// Admit is asked before a new machine is bound, after the device and use
// limits: licensed takes a token of the key's churn rate. nil admits.
type Admit func(l store.License) *Answer

// Usable is nil when l may be used at now, else the rejection: revoked,
// suspended (or any status but active), expired.
func Usable(l store.License, now time.Time) *Answer {
	var a Answer
	switch {
	case l.Status == store.StatusRevoked:
		a = fail(403, licapi.MsgRevoked, "license_revoked")
	case l.Status == store.StatusSuspended:
		a = fail(403, licapi.MsgSuspended, "license_suspended")
	case l.Status != store.StatusActive:
		a = fail(403, licapi.MsgSuspended, "license_not_active")
	case !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt):
		a = fail(403, licapi.MsgExpired, "license_expired")
	default:
		return nil
	}
	return &a
}

// BindDevice applies a verify request to l. A bound machine is seen again
// (its device info and last-seen time updated). A new machine is bound when
// the device limit, the use limit and admit allow it, counting one use; a
// machine this license was switched away from is refused unless the request
// is a new activation (DeviceInfo "sponsor-activation:…"). It returns the
// device's index, or the rejection with the audit detail.
func BindDevice(l *store.License, req licapi.VerifyRequest, now time.Time, admit Admit) (int, *Answer, string) {
	i := l.Device(req.MachineID)
	if i < 0 {
		activation := strings.HasPrefix(req.DeviceInfo, licapi.DeviceInfoActivation)
		if r := l.ReleasedIndex(req.MachineID); r >= 0 && !activation {
			a := fail(403, licapi.MsgDeviceSwitched, "device_switched")
			return -1, &a, "moved to " + l.Released[r].MovedTo
		}
		if a := admitNew(*l, admit); a != nil {
			return -1, a, req.DeviceInfo
		}
		i = bindNew(l, req.MachineID, req.DeviceInfo, now)
	}
	d := &l.Devices[i]
	d.DeviceInfo, d.LastSeenAt = req.DeviceInfo, now
	return i, nil, ""
}

// MoveDevice applies a switch request to l: the binding of oldMachineId
// moves to newMachineId, and the old machine is remembered as switched away
// (the last 32). Repeating a switch that already happened is a success
// again with changed false (a client may retry after a lost answer). It
// returns the new machine's device index, or the rejection.
func MoveDevice(l *store.License, req licapi.SwitchRequest, now time.Time, admit Admit) (i int, changed bool, refusal *Answer) {
	io, in := l.Device(req.OldMachineID), l.Device(req.NewMachineID)
	if io < 0 {
		if r := l.ReleasedIndex(req.OldMachineID); r >= 0 && l.Released[r].MovedTo == req.NewMachineID && in >= 0 {
			return in, false, nil
		}
		a := fail(403, licapi.MsgOldNotBound, "old_device_not_bound")
		return -1, false, &a
	}
	if admit != nil {
		if a := admit(*l); a != nil {
			return -1, false, a
		}
	}
	if in >= 0 {
		// The new machine is bound already: the old binding just goes.
		l.Devices = slices.Delete(l.Devices, io, io+1)
	} else {
		l.Devices[io] = store.Device{MachineID: req.NewMachineID, DeviceInfo: "switch-device:" + req.OldMachineID, ActivatedAt: now}
	}
	in = l.Device(req.NewMachineID)
	l.Devices[in].LastSeenAt = now
	l.Released = slices.DeleteFunc(l.Released, func(r store.Released) bool {
		return r.MachineID == req.NewMachineID || r.MachineID == req.OldMachineID
	})
	l.Released = append(l.Released, store.Released{MachineID: req.OldMachineID, MovedTo: req.NewMachineID, At: now})
	if len(l.Released) > maxReleased {
		l.Released = l.Released[len(l.Released)-maxReleased:]
	}
	return in, true, nil
}

// admitNew checks that one more machine may be bound to l: the device
// limit, the use limit, then admit.
func admitNew(l store.License, admit Admit) *Answer {
	var a Answer
	switch {
	case l.MaxDevices > 0 && int64(len(l.Devices)) >= l.MaxDevices:
		a = fail(403, licapi.MsgDeviceLimit, "device_limit_reached")
	case l.MaxUses > 0 && l.CurrentUses >= l.MaxUses:
		a = fail(403, licapi.MsgUseLimit, "use_limit_reached")
	case admit != nil:
		return admit(l)
	default:
		return nil
	}
	return &a
}

// bindNew binds a machine admitNew let in: it is no longer a released one,
// and counts as a use. It returns the device's index.
func bindNew(l *store.License, machineID, deviceInfo string, now time.Time) int {
	if r := l.ReleasedIndex(machineID); r >= 0 {
		l.Released = slices.Delete(l.Released, r, r+1)
	}
	l.Devices = append(l.Devices, store.Device{MachineID: machineID, DeviceInfo: deviceInfo, ActivatedAt: now, LastSeenAt: now})
	l.CurrentUses++
	return len(l.Devices) - 1
}
