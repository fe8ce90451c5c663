package licserver

import (
	"context"
	"errors"
	"fmt"
	"github.com/licensehost/licensehost/internal/licapi"
	"strconv"
	"strings"
	"time"

	"github.com/licensehost/licensehost/internal/lickey"
	"github.com/licensehost/licensehost/internal/licserver/store"
)

// IssueRequest asks for a new key of a type. Nil fields take the type's
// defaults.
type IssueRequest struct {
	Type         string     `json:"type"`
	MaxDevices   *int64     `json:"maxDevices,omitempty"`
	MaxUses      *int64     `json:"maxUses,omitempty"`
	CustomField1 *string    `json:"customField1,omitempty"`
	CustomField2 *string    `json:"customField2,omitempty"`
	CustomField3 *string    `json:"customField3,omitempty"`
	ExpiresAt    *time.Time `json:"expiresAt,omitempty"` // zero time: never expires
	Note         string     `json:"note,omitempty"`
}

// KeyFilter selects licenses in ListKeys; empty fields match all.
type KeyFilter struct {
	Status store.Status `json:"status,omitempty"`
	Type   string       `json:"type,omitempty"`
}

// KeyAction changes a license's status.
type KeyAction string

// Key actions.
const (
	ActionSuspend KeyAction = "suspend"
	ActionResume  KeyAction = "resume"
	ActionRevoke  KeyAction = "revoke"
)

// Admin is what an operator can do. The CLI uses the Service directly when
// it owns the data directory, and the admin HTTP API (AdminClient) when a
// server holds it; both implement Admin. Errors wrap ErrNoSuchKey,
// ErrNoSuchType, ErrNoSuchDevice, ErrTypeExists, ErrRevokedFinal or
// ErrInvalid.
type Admin interface {
	IssueKey(ctx context.Context, req IssueRequest) (store.License, error)
	ListKeys(ctx context.Context, f KeyFilter) ([]store.License, error)
	GetKey(ctx context.Context, key string) (store.License, error)
	SetKeyStatus(ctx context.Context, key string, action KeyAction) (store.License, error)
	UnbindDevice(ctx context.Context, key, machineID string) (store.License, error)
	AddType(ctx context.Context, t store.LicenseType) (store.LicenseType, error)
	ListTypes(ctx context.Context) ([]store.LicenseType, error)
	AuditLog(ctx context.Context, limit int, key string) ([]store.AuditEntry, error)
}

// AdminAs returns the Service's admin operations, audited as actor.
func (s *Service) AdminAs(actor string) Admin { return &adminOps{s: s, actor: actor} }

type adminOps struct {
	s     *Service
	actor string
}

var _ Admin = (*adminOps)(nil)

func (a *adminOps) auditAdmin(tx *store.Tx, now time.Time, action, key, detail string) error {
	return tx.Audit(store.AuditEntry{At: now, Actor: a.actor, Action: action, Key: key, Outcome: "ok", Detail: detail})
}

func validTypeName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func (a *adminOps) IssueKey(ctx context.Context, req IssueRequest) (store.License, error) {
	now := a.s.clock.Now()
	if req.MaxDevices != nil && *req.MaxDevices < 0 || req.MaxUses != nil && *req.MaxUses < 0 {
		return store.License{}, fmt.Errorf("%w: negative limit", ErrInvalid)
	}
	for _, f := range []*string{req.CustomField1, req.CustomField2, req.CustomField3, &req.Note} {
		if f != nil && (!licapi.ValidField(*f)) {
			return store.License{}, fmt.Errorf("%w: field too long or holds control characters", ErrInvalid)
		}
	}
	key, err := lickey.New(nil)
	if err != nil {
		return store.License{}, err
	}
	var l store.License
	err = a.s.st.Update(func(tx *store.Tx) error {
		t, err := tx.Type(req.Type)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %q", ErrNoSuchType, req.Type)
		}
		if err != nil {
			return err
		}
		l = store.License{
			Key: key, Type: t.Name, Status: store.StatusActive,
			MaxDevices: t.MaxDevices, MaxUses: t.MaxUses,
			CustomField1: t.CustomField1, CustomField2: t.CustomField2, CustomField3: t.CustomField3,
			Note: req.Note, CreatedAt: now, UpdatedAt: now,
		}
		if t.Validity > 0 {
			l.ExpiresAt = now.Add(t.Validity).UTC().Truncate(time.Second)
		}
		setIf(&l.MaxDevices, req.MaxDevices)
		setIf(&l.MaxUses, req.MaxUses)
		setIf(&l.CustomField1, req.CustomField1)
		setIf(&l.CustomField2, req.CustomField2)
		setIf(&l.CustomField3, req.CustomField3)
		if req.ExpiresAt != nil {
			l.ExpiresAt = req.ExpiresAt.UTC()
		}
		if err := tx.CreateLicense(l); err != nil {
			return err
		}
		return a.auditAdmin(tx, now, "key.issue", key, "type "+t.Name)
	})
	if err != nil {
		return store.License{}, err
	}
	a.s.log.Info("key issued", "actor", a.actor, "key", lickey.Mask(key), "type", l.Type)
	return l, nil
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func (a *adminOps) ListKeys(ctx context.Context, f KeyFilter) ([]store.License, error) {
	out := []store.License{}
	err := a.s.st.View(func(tx *store.Tx) error {
		return tx.Licenses(func(l store.License) bool {
			if (f.Status == "" || l.Status == f.Status) && (f.Type == "" || l.Type == f.Type) {
				out = append(out, l)
			}
			return true
		})
	})
	return out, err
}

func canonical(key string) (string, error) {
	k, err := lickey.Parse(key)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoSuchKey, err)
	}
	return k, nil
}

func (a *adminOps) GetKey(ctx context.Context, key string) (store.License, error) {
	k, err := canonical(key)
	if err != nil {
		return store.License{}, err
	}
	var l store.License
	err = a.s.st.View(func(tx *store.Tx) error {
		l, err = tx.License(k)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoSuchKey
		}
		return err
	})
	return l, err
}

// update applies fn to the license under the key's lock, with an audit entry.
func (a *adminOps) update(key, action string, fn func(l *store.License) (detail string, err error)) (store.License, error) {
	k, err := canonical(key)
	if err != nil {
		return store.License{}, err
	}
	unlock := a.s.lock(k)
	defer unlock()
	now := a.s.clock.Now()
	var l store.License
	err = a.s.st.Update(func(tx *store.Tx) error {
		var err error
		l, err = tx.License(k)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoSuchKey
		}
		if err != nil {
			return err
		}
		detail, err := fn(&l)
		if err != nil {
			return err
		}
		l.UpdatedAt = now
		if err := tx.PutLicense(l); err != nil {
			return err
		}
		return a.auditAdmin(tx, now, action, k, detail)
	})
	if err != nil {
		return store.License{}, err
	}
	a.s.log.Info("license changed", "actor", a.actor, "action", action, "key", lickey.Mask(k), "status", l.Status)
	return l, nil
}

func (a *adminOps) SetKeyStatus(ctx context.Context, key string, action KeyAction) (store.License, error) {
	var to store.Status
	switch action {
	case ActionSuspend:
		to = store.StatusSuspended
	case ActionResume:
		to = store.StatusActive
	case ActionRevoke:
		to = store.StatusRevoked
	default:
		return store.License{}, fmt.Errorf("%w: unknown action %q", ErrInvalid, action)
	}
	return a.update(key, "key."+string(action), func(l *store.License) (string, error) {
		if l.Status == store.StatusRevoked && to != store.StatusRevoked {
			return "", ErrRevokedFinal
		}
		from := l.Status
		l.Status = to
		return string(from) + " -> " + string(to), nil
	})
}

func (a *adminOps) UnbindDevice(ctx context.Context, key, machineID string) (store.License, error) {
	return a.update(key, "key.unbind", func(l *store.License) (string, error) {
		i := l.Device(machineID)
		if i < 0 {
			return "", fmt.Errorf("%w: %s", ErrNoSuchDevice, machineID)
		}
		l.Devices = append(l.Devices[:i], l.Devices[i+1:]...)
		return "machine " + machineID, nil
	})
}

func (a *adminOps) AddType(ctx context.Context, t store.LicenseType) (store.LicenseType, error) {
	if !validTypeName(t.Name) {
		return t, fmt.Errorf("%w: type name must be 1-64 of [A-Za-z0-9._-]", ErrInvalid)
	}
	if t.MaxDevices < 0 || t.MaxUses < 0 || t.Validity < 0 {
		return t, fmt.Errorf("%w: negative limit or validity", ErrInvalid)
	}
	for _, f := range []string{t.DisplayName, t.CustomField1, t.CustomField2, t.CustomField3} {
		if !licapi.ValidField(f) {
			return t, fmt.Errorf("%w: field too long or holds control characters", ErrInvalid)
		}
	}
	if err := checkTypeActivation(&t); err != nil {
		return t, err
	}
	if t.DisplayName == "" {
		t.DisplayName = t.Name
	}
	now := a.s.clock.Now()
	t.CreatedAt = now
	err := a.s.st.Update(func(tx *store.Tx) error {
		if err := tx.CreateType(t); errors.Is(err, store.ErrExists) {
			return fmt.Errorf("%w: %q", ErrTypeExists, t.Name)
		} else if err != nil {
			return err
		}
		return a.auditAdmin(tx, now, "type.add", "", "type "+t.Name+" ("+t.DisplayName+")")
	})
	if err != nil {
		return store.LicenseType{}, err
	}
	a.s.log.Info("license type added", "actor", a.actor, "type", t.Name)
	return t, nil
}

func (a *adminOps) ListTypes(ctx context.Context) ([]store.LicenseType, error) {
	out := []store.LicenseType{}
	err := a.s.st.View(func(tx *store.Tx) error {
		return tx.Types(func(t store.LicenseType) bool { out = append(out, t); return true })
	})
	return out, err
}

func (a *adminOps) AuditLog(ctx context.Context, limit int, key string) ([]store.AuditEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	if key != "" {
		k, err := canonical(key)
		if err != nil {
			return nil, err
		}
		key = k
	}
	var out []store.AuditEntry
	err := a.s.st.View(func(tx *store.Tx) error {
		var err error
		out, err = tx.AuditLog(limit, key)
		return err
	})
	if out == nil {
		out = []store.AuditEntry{}
	}
	return out, err
}

// ParseWhen parses an expiry for the CLI: RFC 3339, a date YYYY-MM-DD
// (meaning 00:00 UTC that day), a Go duration ("36h") or a number of days
// ("30d") from now, or "never" (the zero time).
func ParseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "never" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), nil
	}
	d, err := ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q is not RFC 3339, YYYY-MM-DD, a duration or \"never\"", ErrInvalid, s)
	}
	return now.Add(d).UTC().Truncate(time.Second), nil
}

// ParseDuration parses a Go duration or a whole number of days ("30d").
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("%w: bad number of days %q", ErrInvalid, s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w: bad duration %q", ErrInvalid, s)
	}
	return d, nil
}
