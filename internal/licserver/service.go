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

// churnAdmit admits a new binding when the key's churn rate has a token
// at now.
func (s *Service) churnAdmit(now time.Time) Admit {
	return func(l store.License) *Answer {
		if ok, wait := s.churn.allow(l.Key, now); !ok {
			a := s.rateLimited(wait)
			return &a
		}
		return nil
	}
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
			i, refusal, detail := BindDevice(&l, req, now, s.churnAdmit(now))
			if refusal != nil {
				return outcome{ans: *refusal, detail: detail}
			}
			l.Devices[i].LastIP, l.UpdatedAt = clientIP, now
			return outcome{ans: success(licapi.MsgVerifyOK, s.wire(l, t, l.Devices[i], clientIP)), put: &l, detail: req.DeviceInfo}
		})
}

// SwitchDevice answers POST /api/license/switch-device (MoveDevice).
func (s *Service) SwitchDevice(ctx context.Context, req licapi.SwitchRequest, clientIP string) Answer {
	detail := req.OldMachineID + " -> " + req.NewMachineID
	if req.Reason != "" {
		detail += " (" + req.Reason + ")"
	}
	return s.serve("switch-device", req.LicenseKey, req.NewMachineID, clientIP, detail, req.Validate(),
		func(l store.License, t store.LicenseType, now time.Time) outcome {
			i, changed, refusal := MoveDevice(&l, req, now, s.churnAdmit(now))
			switch {
			case refusal != nil:
				return outcome{ans: *refusal, detail: detail}
			case !changed:
				return outcome{ans: success(licapi.MsgSwitchOK, s.wire(l, t, l.Devices[i], clientIP)), detail: detail + " (repeated)"}
			}
			l.Devices[i].LastIP, l.UpdatedAt = clientIP, now
			return outcome{ans: success(licapi.MsgSwitchOK, s.wire(l, t, l.Devices[i], clientIP)), put: &l, detail: detail}
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
	if a := Usable(l, now); a != nil {
		return l, store.LicenseType{}, *a, false, nil
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
