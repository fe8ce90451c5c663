// Package licserver is licensed, the on-prem license server: the fixed
// remote contract (POST /api/license/verify and /api/license/switch-device)
// with signed answers, and an authenticated admin API, over the Badger store
// in internal/licserver/store.
package licserver

import (
	"context"
	"errors"
	"fmt"
	"github.com/licensehost/licensehost/internal/licapi"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/licensehost/licensehost/internal/lickey"
	"github.com/licensehost/licensehost/internal/licserver/store"
)

// Clock is the service's source of time.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Defaults of Config.
const (
	DefaultAppName = "licensehost"
	// maxReleased bounds how many switched-away machines a license remembers.
	maxReleased = 32
)

// DefaultChurnRate limits new device bindings and switches per key.
var DefaultChurnRate = Rate{Burst: 10, Every: 6 * time.Minute}

// DefaultRequestRate limits all client requests per key.
var DefaultRequestRate = Rate{Burst: 60, Every: time.Second}

// Config configures a Service. Zero fields take defaults, except that the
// rates are taken as given when SetRates is true (a zero Rate = unlimited).
type Config struct {
	Store       *store.Store
	Clock       Clock
	Logger      *slog.Logger
	AppName     string // applicationName in answers
	ChurnRate   Rate
	RequestRate Rate
	SetRates    bool
}

// Service implements the client contract and the admin operations.
type Service struct {
	st      *store.Store
	clock   Clock
	log     *slog.Logger
	appName string
	churn   *limiter
	reqs    *limiter
	locks   [256]sync.Mutex
}

// NewService returns a Service over cfg.Store.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("licserver: %w: no store", ErrInvalid)
	}
	s := &Service{st: cfg.Store, clock: cfg.Clock, log: cfg.Logger, appName: cfg.AppName}
	if s.clock == nil {
		s.clock = SystemClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.appName == "" {
		err := s.st.View(func(tx *store.Tx) error {
			n, err := tx.Meta(metaAppName)
			s.appName = n
			return err
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if s.appName == "" {
			s.appName = DefaultAppName
		}
	}
	churn, reqs := cfg.ChurnRate, cfg.RequestRate
	if !cfg.SetRates {
		churn, reqs = DefaultChurnRate, DefaultRequestRate
	}
	s.churn, s.reqs = newLimiter(churn), newLimiter(reqs)
	return s, nil
}

const metaAppName = "app_name"

// lock serialises operations on one license key within the process, so
// that device-limit checks and rate-limit tokens are taken exactly once.
func (s *Service) lock(key string) func() {
	h := fnv.New32a()
	h.Write([]byte(key))
	m := &s.locks[h.Sum32()%uint32(len(s.locks))]
	m.Lock()
	return m.Unlock
}

func fail(status int, msg, details string) Answer {
	return Answer{Answer: licapi.Fail(msg, details), Status: status}
}

func success(msg string, lic *licapi.License) Answer {
	return Answer{Answer: licapi.OK(msg, lic), Status: 200}
}

// outcome is what a client request decided: the answer, the license to
// write (nil when unchanged) and the audit entry's detail.
type outcome struct {
	ans    Answer
	put    *store.License
	detail string
}

// serve runs one client request: the contract's validation (inv), the key's
// parse, its lock and request rate, then decide on a snapshot of the usable
// license, and a durable write of the outcome through the store's group
// commit. The key's lock is held until the write is durable. machineID is
// the machine the audit entry names, detail its detail when the license is
// not usable.
func (s *Service) serve(action, rawKey, machineID, clientIP, detail string, inv *licapi.Invalid,
	decide func(l store.License, t store.LicenseType, now time.Time) outcome) Answer {
	now := s.clock.Now()
	if !licapi.ValidField(machineID) {
		machineID = ""
	}
	if inv != nil {
		return s.reject(now, action, "", machineID, clientIP, fail(400, inv.Message, inv.Details))
	}
	key, err := lickey.Parse(rawKey)
	if err != nil {
		return s.reject(now, action, "", machineID, clientIP, fail(404, licapi.MsgNotFound, "license_not_found"))
	}
	unlock := s.lock(key)
	defer unlock()
	if ok, wait := s.reqs.allow(key, now); !ok {
		return s.reject(now, action, key, machineID, clientIP, s.rateLimited(wait))
	}
	var out outcome
	err = s.st.View(func(tx *store.Tx) error {
		l, t, a, ok, err := s.loadUsable(tx, key, now)
		switch {
		case err != nil:
			return err
		case !ok:
			out = outcome{ans: a, detail: detail}
		default:
			out = decide(l, t, now)
		}
		return nil
	})
	if err == nil {
		err = s.commit(out.put, s.entry(now, action, key, machineID, clientIP, out.ans, out.detail))
	}
	if err != nil {
		return s.internal(action, key, err)
	}
	s.logAnswer(action, key, machineID, out.ans)
	return out.ans
}

// admit checks that one more machine may be bound to l at now: the device
// limit, the use limit and the churn rate (a token is taken). ok=false comes
// with the rejection to send.
func (s *Service) admit(l store.License, now time.Time) (Answer, bool) {
	switch {
	case l.MaxDevices > 0 && int64(len(l.Devices)) >= l.MaxDevices:
		return fail(403, licapi.MsgDeviceLimit, "device_limit_reached"), false
	case l.MaxUses > 0 && l.CurrentUses >= l.MaxUses:
		return fail(403, licapi.MsgUseLimit, "use_limit_reached"), false
	}
	if ok, wait := s.churn.allow(l.Key, now); !ok {
		return s.rateLimited(wait), false
	}
	return Answer{}, true
}

// bind binds a machine admit let in: it is no longer a released one, and
// counts as a use. It returns the device's index.
func bind(l *store.License, machineID, deviceInfo string, now time.Time) int {
	if r := l.ReleasedIndex(machineID); r >= 0 {
		l.Released = slices.Delete(l.Released, r, r+1)
	}
	l.Devices = append(l.Devices, store.Device{MachineID: machineID, DeviceInfo: deviceInfo, ActivatedAt: now, LastSeenAt: now})
	l.CurrentUses++
	return len(l.Devices) - 1
}

func (s *Service) rateLimited(wait time.Duration) Answer {
	a := fail(429, licapi.MsgRateLimited, "rate_limited")
	a.RetryAfter = retrySeconds(wait)
	return a
}

// Verify answers POST /api/license/verify.
func (s *Service) Verify(ctx context.Context, req licapi.VerifyRequest, clientIP string) Answer {
	return s.serve("verify", req.LicenseKey, req.MachineID, clientIP, req.DeviceInfo, req.Validate(),
		func(l store.License, t store.LicenseType, now time.Time) outcome {
			refuse := func(a Answer, detail string) outcome { return outcome{ans: a, detail: detail} }
			activation := strings.HasPrefix(req.DeviceInfo, licapi.DeviceInfoActivation)
			i := l.Device(req.MachineID)
			if i < 0 {
				if r := l.ReleasedIndex(req.MachineID); r >= 0 && !activation {
					return refuse(fail(403, licapi.MsgDeviceSwitched, "device_switched"), "moved to "+l.Released[r].MovedTo)
				}
				if a, ok := s.admit(l, now); !ok {
					return refuse(a, req.DeviceInfo)
				}
				i = bind(&l, req.MachineID, req.DeviceInfo, now)
			}
			d := &l.Devices[i]
			d.DeviceInfo, d.LastSeenAt, d.LastIP = req.DeviceInfo, now, clientIP
			l.UpdatedAt = now
			return outcome{ans: success(licapi.MsgVerifyOK, s.wire(l, t, *d, clientIP)), put: &l, detail: req.DeviceInfo}
		})
}

// SwitchDevice answers POST /api/license/switch-device: the binding of
// oldMachineId moves to newMachineId. Repeating a switch that already
// happened answers success again (a client may retry after a lost answer).
func (s *Service) SwitchDevice(ctx context.Context, req licapi.SwitchRequest, clientIP string) Answer {
	detail := req.OldMachineID + " -> " + req.NewMachineID
	if req.Reason != "" {
		detail += " (" + req.Reason + ")"
	}
	return s.serve("switch-device", req.LicenseKey, req.NewMachineID, clientIP, detail, req.Validate(),
		func(l store.License, t store.LicenseType, now time.Time) outcome {
			io, in := l.Device(req.OldMachineID), l.Device(req.NewMachineID)
			if io < 0 {
				if r := l.ReleasedIndex(req.OldMachineID); r >= 0 && l.Released[r].MovedTo == req.NewMachineID && in >= 0 {
					return outcome{ans: success(licapi.MsgSwitchOK, s.wire(l, t, l.Devices[in], clientIP)), detail: detail + " (repeated)"}
				}
				return outcome{ans: fail(403, licapi.MsgOldNotBound, "old_device_not_bound"), detail: detail}
			}
			if ok, wait := s.churn.allow(l.Key, now); !ok {
				return outcome{ans: s.rateLimited(wait), detail: detail}
			}
			if in >= 0 {
				// The new machine is bound already: the old binding just goes.
				l.Devices = append(l.Devices[:io], l.Devices[io+1:]...)
			} else {
				l.Devices[io] = store.Device{MachineID: req.NewMachineID, DeviceInfo: "switch-device:" + req.OldMachineID, ActivatedAt: now}
			}
			in = l.Device(req.NewMachineID)
			d := &l.Devices[in]
			d.LastSeenAt, d.LastIP = now, clientIP
			if r := l.ReleasedIndex(req.NewMachineID); r >= 0 {
				l.Released = append(l.Released[:r], l.Released[r+1:]...)
			}
			if r := l.ReleasedIndex(req.OldMachineID); r >= 0 {
				l.Released = append(l.Released[:r], l.Released[r+1:]...)
			}
			l.Released = append(l.Released, store.Released{MachineID: req.OldMachineID, MovedTo: req.NewMachineID, At: now})
			if len(l.Released) > maxReleased {
				l.Released = l.Released[len(l.Released)-maxReleased:]
			}
			l.UpdatedAt = now
			return outcome{ans: success(licapi.MsgSwitchOK, s.wire(l, t, *d, clientIP)), put: &l, detail: detail}
		})
}

// loadUsable loads key and checks that it may be used at now. ok=false
// comes with the rejection to send; err is a storage failure.
func (s *Service) loadUsable(tx *store.Tx, key string, now time.Time) (store.License, store.LicenseType, Answer, bool, error) {
	l, err := tx.License(key)
	if errors.Is(err, store.ErrNotFound) {
		return l, store.LicenseType{}, fail(404, licapi.MsgNotFound, "license_not_found"), false, nil
	}
	if err != nil {
		return l, store.LicenseType{}, Answer{}, false, err
	}
	switch {
	case l.Status == store.StatusRevoked:
		return l, store.LicenseType{}, fail(403, licapi.MsgRevoked, "license_revoked"), false, nil
	case l.Status == store.StatusSuspended:
		return l, store.LicenseType{}, fail(403, licapi.MsgSuspended, "license_suspended"), false, nil
	case l.Status != store.StatusActive:
		return l, store.LicenseType{}, fail(403, licapi.MsgSuspended, "license_not_active"), false, nil
	case !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt):
		return l, store.LicenseType{}, fail(403, licapi.MsgExpired, "license_expired"), false, nil
	}
	t, err := tx.Type(l.Type)
	if errors.Is(err, store.ErrNotFound) {
		t = store.LicenseType{Name: l.Type, DisplayName: l.Type}
	} else if err != nil {
		return l, t, Answer{}, false, err
	}
	return l, t, Answer{}, true, nil
}

func (s *Service) wire(l store.License, t store.LicenseType, d store.Device, clientIP string) *licapi.License {
	w := &licapi.License{
		LicenseKey:             licapi.FlexString(l.Key),
		ApplicationName:        licapi.FlexString(s.appName),
		LicenseTypeName:        licapi.FlexString(l.Type),
		LicenseTypeDisplayName: licapi.FlexString(t.DisplayName),
		Status:                 licapi.FlexString(l.Status),
		MaxUses:                licapi.Int(l.MaxUses),
		CurrentUses:            licapi.Int(l.CurrentUses),
		MaxDevices:             licapi.Int(l.MaxDevices),
		CurrentDevices:         licapi.Int(int64(len(l.Devices))),
		CustomField1:           licapi.FlexString(l.CustomField1),
		CustomField2:           licapi.FlexString(l.CustomField2),
		CustomField3:           licapi.FlexString(l.CustomField3),
		ExpiresAt:              licapi.FlexTime{Time: l.ExpiresAt},
		ActivatedAt:            licapi.FlexString(d.ActivatedAt.UTC().Format(licapi.ActivatedAtLayout)),
		Timezone:               "UTC",
		ClientIP:               licapi.FlexString(clientIP),
	}
	if w.LicenseTypeDisplayName == "" {
		w.LicenseTypeDisplayName = w.LicenseTypeName
	}
	return w
}

// entry is the audit entry of a client request.
func (s *Service) entry(now time.Time, action, key, machineID, ip string, a Answer, detail string) store.AuditEntry {
	outcome := "ok"
	if !a.Success.V {
		outcome = string(a.Message)
	}
	return store.AuditEntry{
		At: now, Actor: "client " + ip, Action: action, Key: key, MachineID: machineID,
		Outcome: outcome, HTTP: a.Status, Detail: detail, Client: true,
	}
}

// commit durably writes a client request's outcome: the changed license
// (nil when unchanged) and its audit entry, group-committed with
// concurrent requests.
func (s *Service) commit(put *store.License, e store.AuditEntry) error {
	return s.st.Write(func(tx *store.Tx) error {
		if put != nil {
			if err := tx.PutLicense(*put); err != nil {
				return err
			}
		}
		return tx.Audit(e)
	})
}

// reject records a rejection that needs no license lookup and returns it.
func (s *Service) reject(now time.Time, action, key, machineID, ip string, a Answer) Answer {
	if err := s.commit(nil, s.entry(now, action, key, machineID, ip, a, a.DetailsCode())); err != nil {
		s.log.Error("audit failed", "action", action, "err", err)
	}
	s.logAnswer(action, key, machineID, a)
	return a
}

func (s *Service) internal(action, key string, err error) Answer {
	s.log.Error("request failed", "action", action, "key", lickey.Mask(key), "err", err)
	return fail(500, licapi.MsgInternal, "internal_error")
}

func (s *Service) logAnswer(action, key, machineID string, a Answer) {
	s.log.Info("client request", "action", action, "key", lickey.Mask(key), "machine", machineID,
		"http", a.Status, "success", a.Success.V, "details", a.DetailsCode())
}

func retrySeconds(d time.Duration) int {
	n := int((d + time.Second - 1) / time.Second)
	return max(n, 1)
}
