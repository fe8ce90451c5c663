// Package licserver is licensed, the on-prem license server: the fixed
// remote contract (POST /api/license/verify and /api/license/switch-device)
// with signed answers, and an authenticated admin API, over the Badger store
// in internal/licserver/store.
package licserver

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/licensehost/licensehost/internal/lickey"
	"github.com/licensehost/licensehost/internal/licserver/store"
	"github.com/licensehost/licensehost/internal/signing"
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
	// MaxFieldLen bounds licenseKey, machineId, deviceInfo and reason.
	MaxFieldLen = 512
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
	return Answer{Status: status, Message: msg, Details: details}
}

// checkField validates one client field.
func checkField(v string) bool {
	return len(v) <= MaxFieldLen && signing.ValidField(v)
}

// Verify answers POST /api/license/verify.
func (s *Service) Verify(ctx context.Context, req VerifyRequest, clientIP string) Answer {
	now := s.clock.Now()
	switch {
	case strings.TrimSpace(req.LicenseKey) == "":
		return s.reject(now, "verify", "", req.MachineID, clientIP, fail(400, MsgNoKey, "missing_license_key"))
	case strings.TrimSpace(req.MachineID) == "":
		return s.reject(now, "verify", "", "", clientIP, fail(400, MsgNoMachine, "missing_machine_id"))
	case !checkField(req.LicenseKey) || !checkField(req.MachineID) || !checkField(req.DeviceInfo):
		return s.reject(now, "verify", "", "", clientIP, fail(400, MsgBadRequest, "invalid_field"))
	}
	key, err := lickey.Parse(req.LicenseKey)
	if err != nil {
		return s.reject(now, "verify", "", req.MachineID, clientIP, fail(404, MsgNotFound, "license_not_found"))
	}
	unlock := s.lock(key)
	defer unlock()
	if ok, wait := s.reqs.allow(key, now); !ok {
		a := fail(429, MsgRateLimited, "rate_limited")
		a.RetryAfter = retrySeconds(wait)
		return s.reject(now, "verify", key, req.MachineID, clientIP, a)
	}
	var ans Answer
	var put *store.License
	var entry store.AuditEntry
	// Decide on a snapshot under the key's lock, then write through the
	// store's group commit; the lock is held until the write is durable.
	err = s.st.View(func(tx *store.Tx) error {
		l, t, a, ok, err := s.loadUsable(tx, key, now)
		if err != nil {
			return err
		}
		if !ok {
			ans = a
			entry = s.entry(now, "verify", key, req.MachineID, clientIP, ans, req.DeviceInfo)
			return nil
		}
		activation := strings.HasPrefix(req.DeviceInfo, DeviceInfoActivation)
		i := l.Device(req.MachineID)
		if i < 0 {
			if r := l.ReleasedIndex(req.MachineID); r >= 0 && !activation {
				ans = fail(403, MsgDeviceSwitched, "device_switched")
				entry = s.entry(now, "verify", key, req.MachineID, clientIP, ans, "moved to "+l.Released[r].MovedTo)
				return nil
			}
			if l.MaxDevices > 0 && int64(len(l.Devices)) >= l.MaxDevices {
				ans = fail(403, MsgDeviceLimit, "device_limit_reached")
				entry = s.entry(now, "verify", key, req.MachineID, clientIP, ans, req.DeviceInfo)
				return nil
			}
			if l.MaxUses > 0 && l.CurrentUses >= l.MaxUses {
				ans = fail(403, MsgUseLimit, "use_limit_reached")
				entry = s.entry(now, "verify", key, req.MachineID, clientIP, ans, req.DeviceInfo)
				return nil
			}
			if ok, wait := s.churn.allow(key, now); !ok {
				ans = fail(429, MsgRateLimited, "rate_limited")
				ans.RetryAfter = retrySeconds(wait)
				entry = s.entry(now, "verify", key, req.MachineID, clientIP, ans, "activation churn")
				return nil
			}
			if r := l.ReleasedIndex(req.MachineID); r >= 0 {
				l.Released = append(l.Released[:r], l.Released[r+1:]...)
			}
			l.Devices = append(l.Devices, store.Device{MachineID: req.MachineID, ActivatedAt: now})
			l.CurrentUses++
			i = len(l.Devices) - 1
		}
		d := &l.Devices[i]
		d.DeviceInfo, d.LastSeenAt, d.LastIP = req.DeviceInfo, now, clientIP
		l.UpdatedAt = now
		put = &l
		ans = Answer{Status: 200, Success: true, Message: MsgVerifyOK, License: s.wire(l, t, *d, clientIP)}
		entry = s.entry(now, "verify", key, req.MachineID, clientIP, ans, req.DeviceInfo)
		return nil
	})
	if err == nil {
		err = s.commit(put, entry)
	}
	if err != nil {
		return s.internal("verify", key, err)
	}
	s.logAnswer("verify", key, req.MachineID, ans)
	return ans
}

// SwitchDevice answers POST /api/license/switch-device: the binding of
// oldMachineId moves to newMachineId. Repeating a switch that already
// happened answers success again (a client may retry after a lost answer).
func (s *Service) SwitchDevice(ctx context.Context, req SwitchRequest, clientIP string) Answer {
	now := s.clock.Now()
	switch {
	case strings.TrimSpace(req.LicenseKey) == "":
		return s.reject(now, "switch-device", "", req.NewMachineID, clientIP, fail(400, MsgNoKey, "missing_license_key"))
	case strings.TrimSpace(req.OldMachineID) == "" || strings.TrimSpace(req.NewMachineID) == "":
		return s.reject(now, "switch-device", "", "", clientIP, fail(400, MsgNoMachine, "missing_machine_id"))
	case !checkField(req.LicenseKey) || !checkField(req.OldMachineID) || !checkField(req.NewMachineID) || !checkField(req.Reason):
		return s.reject(now, "switch-device", "", "", clientIP, fail(400, MsgBadRequest, "invalid_field"))
	case req.OldMachineID == req.NewMachineID:
		return s.reject(now, "switch-device", "", req.NewMachineID, clientIP, fail(400, MsgSameMachine, "same_machine_id"))
	}
	key, err := lickey.Parse(req.LicenseKey)
	if err != nil {
		return s.reject(now, "switch-device", "", req.NewMachineID, clientIP, fail(404, MsgNotFound, "license_not_found"))
	}
	unlock := s.lock(key)
	defer unlock()
	if ok, wait := s.reqs.allow(key, now); !ok {
		a := fail(429, MsgRateLimited, "rate_limited")
		a.RetryAfter = retrySeconds(wait)
		return s.reject(now, "switch-device", key, req.NewMachineID, clientIP, a)
	}
	detail := req.OldMachineID + " -> " + req.NewMachineID
	if req.Reason != "" {
		detail += " (" + req.Reason + ")"
	}
	var ans Answer
	var put *store.License
	var entry store.AuditEntry
	// Decide on a snapshot under the key's lock, then write through the
	// store's group commit; the lock is held until the write is durable.
	err = s.st.View(func(tx *store.Tx) error {
		l, t, a, ok, err := s.loadUsable(tx, key, now)
		if err != nil {
			return err
		}
		if !ok {
			ans = a
			entry = s.entry(now, "switch-device", key, req.NewMachineID, clientIP, ans, detail)
			return nil
		}
		io, in := l.Device(req.OldMachineID), l.Device(req.NewMachineID)
		if io < 0 {
			if r := l.ReleasedIndex(req.OldMachineID); r >= 0 && l.Released[r].MovedTo == req.NewMachineID && in >= 0 {
				ans = Answer{Status: 200, Success: true, Message: MsgSwitchOK, License: s.wire(l, t, l.Devices[in], clientIP)}
				entry = s.entry(now, "switch-device", key, req.NewMachineID, clientIP, ans, detail+" (repeated)")
				return nil
			}
			ans = fail(403, MsgOldNotBound, "old_device_not_bound")
			entry = s.entry(now, "switch-device", key, req.NewMachineID, clientIP, ans, detail)
			return nil
		}
		if ok, wait := s.churn.allow(key, now); !ok {
			ans = fail(429, MsgRateLimited, "rate_limited")
			ans.RetryAfter = retrySeconds(wait)
			entry = s.entry(now, "switch-device", key, req.NewMachineID, clientIP, ans, detail)
			return nil
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
		put = &l
		ans = Answer{Status: 200, Success: true, Message: MsgSwitchOK, License: s.wire(l, t, *d, clientIP)}
		entry = s.entry(now, "switch-device", key, req.NewMachineID, clientIP, ans, detail)
		return nil
	})
	if err == nil {
		err = s.commit(put, entry)
	}
	if err != nil {
		return s.internal("switch-device", key, err)
	}
	s.logAnswer("switch-device", key, req.NewMachineID, ans)
	return ans
}

// loadUsable loads key and checks that it may be used at now. ok=false
// comes with the rejection to send; err is a storage failure.
func (s *Service) loadUsable(tx *store.Tx, key string, now time.Time) (store.License, store.LicenseType, Answer, bool, error) {
	l, err := tx.License(key)
	if errors.Is(err, store.ErrNotFound) {
		return l, store.LicenseType{}, fail(404, MsgNotFound, "license_not_found"), false, nil
	}
	if err != nil {
		return l, store.LicenseType{}, Answer{}, false, err
	}
	switch {
	case l.Status == store.StatusRevoked:
		return l, store.LicenseType{}, fail(403, MsgRevoked, "license_revoked"), false, nil
	case l.Status == store.StatusSuspended:
		return l, store.LicenseType{}, fail(403, MsgSuspended, "license_suspended"), false, nil
	case l.Status != store.StatusActive:
		return l, store.LicenseType{}, fail(403, MsgSuspended, "license_not_active"), false, nil
	case !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt):
		return l, store.LicenseType{}, fail(403, MsgExpired, "license_expired"), false, nil
	}
	t, err := tx.Type(l.Type)
	if errors.Is(err, store.ErrNotFound) {
		t = store.LicenseType{Name: l.Type, DisplayName: l.Type}
	} else if err != nil {
		return l, t, Answer{}, false, err
	}
	return l, t, Answer{}, true, nil
}

func (s *Service) wire(l store.License, t store.LicenseType, d store.Device, clientIP string) *WireLicense {
	w := &WireLicense{
		LicenseKey:             l.Key,
		ApplicationName:        s.appName,
		LicenseTypeName:        l.Type,
		LicenseTypeDisplayName: t.DisplayName,
		Status:                 string(l.Status),
		MaxUses:                l.MaxUses,
		CurrentUses:            l.CurrentUses,
		MaxDevices:             l.MaxDevices,
		CurrentDevices:         int64(len(l.Devices)),
		CustomField1:           l.CustomField1,
		CustomField2:           l.CustomField2,
		CustomField3:           l.CustomField3,
		ActivatedAt:            d.ActivatedAt.UTC().Format(ActivatedAtLayout),
		Timezone:               "UTC",
		ClientIP:               clientIP,
	}
	if w.LicenseTypeDisplayName == "" {
		w.LicenseTypeDisplayName = l.Type
	}
	if !l.ExpiresAt.IsZero() {
		e := l.ExpiresAt.UTC().Format(time.RFC3339)
		w.ExpiresAt = &e
	}
	return w
}

// entry is the audit entry of a client request.
func (s *Service) entry(now time.Time, action, key, machineID, ip string, a Answer, detail string) store.AuditEntry {
	outcome := "ok"
	if !a.Success {
		outcome = a.Message
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
	if err := s.commit(nil, s.entry(now, action, key, machineID, ip, a, a.Details)); err != nil {
		s.log.Error("audit failed", "action", action, "err", err)
	}
	s.logAnswer(action, key, machineID, a)
	return a
}

func (s *Service) internal(action, key string, err error) Answer {
	s.log.Error("request failed", "action", action, "key", lickey.Mask(key), "err", err)
	return fail(500, MsgInternal, "internal_error")
}

func (s *Service) logAnswer(action, key, machineID string, a Answer) {
	s.log.Info("client request", "action", action, "key", lickey.Mask(key), "machine", machineID,
		"http", a.Status, "success", a.Success, "details", a.Details)
}

func retrySeconds(d time.Duration) int {
	n := int((d + time.Second - 1) / time.Second)
	return max(n, 1)
}
