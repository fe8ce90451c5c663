package engine

import (
	"context"
	"time"
)

// InstalledActivation is an activation file installed on this host
// (docs/activation-files.md). The armored file is kept as it came; every
// other fact is read from it again, so there is one home for each.
type InstalledActivation struct {
	Serial      string    `json:"serial"`
	File        string    `json:"file"`
	InstalledAt time.Time `json:"installedAt"`
}

// BannedSerial is a serial that was uninstalled here: it can never be
// installed on this data directory again. Receipt is the uninstall receipt
// written then, so it can be handed out again.
type BannedSerial struct {
	Serial  string    `json:"serial"`
	At      time.Time `json:"at"`
	Receipt string    `json:"receipt"`
}

// ActivationStore keeps installed activation files and banned serials.
// storage.Store implements it; every write is durable before it returns.
type ActivationStore interface {
	// PutActivation stores a (replacing one with the same serial).
	PutActivation(ctx context.Context, a InstalledActivation) error
	// Activations returns every installed file, by serial; empty, not nil.
	Activations(ctx context.Context) ([]InstalledActivation, error)
	// Activation returns one installed file; found is false when none.
	Activation(ctx context.Context, serial string) (a InstalledActivation, found bool, err error)
	// UninstallActivation removes the file and bans its serial in one
	// durable transaction.
	UninstallActivation(ctx context.Context, b BannedSerial) error
	// DeleteActivation removes the file; its serial is not banned.
	DeleteActivation(ctx context.Context, serial string) error
	// Banned returns the ban of serial; found is false when none.
	Banned(ctx context.Context, serial string) (b BannedSerial, found bool, err error)
	// BannedSerials returns every ban, by serial; empty, not nil.
	BannedSerials(ctx context.Context) ([]BannedSerial, error)
}

// EffectiveNow returns the engine's time as expiry checks must see it: the
// clock, never earlier than the highest time the installation has seen
// (the clock high-water mark, docs/engine.md), so a clock turned back extends nothing.
func (e *Engine) EffectiveNow(ctx context.Context) (time.Time, error) {
	now := e.now()
	rec, err := e.load(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return EffectiveNow(now, e.highWater(rec)), nil
}

// OfflineLicense is the license of an installed activation file in force,
// as quota decisions see it while no online license stands
// (docs/activation-files.md, "Quotas").
type OfflineLicense struct {
	Source       string // "activation:<serial>"
	LicenseType  string
	CustomField1 string // total quota; "" = unlimited
	CustomField2 string // batch quota; "" = unlimited
	CustomField3 string
}

// OfflineSource gives the offline license in force at now, if any
// (internal/activation's Manager).
type OfflineSource interface {
	OfflineLicense(ctx context.Context, now time.Time) (OfflineLicense, bool, error)
}

// SetOffline plugs in the source of offline licenses. Call it once, before
// the engine serves requests.
func (e *Engine) SetOffline(src OfflineSource) { e.offline = src }

// offlineLimits returns the limits of the offline license in force when no
// online license is sponsored; ok is false otherwise.
func (e *Engine) offlineLimits(ctx context.Context, ev Evaluation) (OfflineLicense, Limits, bool, error) {
	if e.offline == nil || ev.IsSponsored {
		return OfflineLicense{}, Limits{}, false, nil
	}
	lic, ok, err := e.offline.OfflineLicense(ctx, ev.Now)
	if err != nil || !ok {
		return OfflineLicense{}, Limits{}, false, err
	}
	return lic, Limits{Total: ParseLimit(lic.CustomField1), Batch: ParseLimit(lic.CustomField2)}, true, nil
}

// applyOffline puts the offline license's type, fields and limits into a
// quota input when it applies.
func (e *Engine) applyOffline(ctx context.Context, in *QuotaInput, ev Evaluation) error {
	lic, lim, ok, err := e.offlineLimits(ctx, ev)
	if err != nil || !ok {
		return err
	}
	in.Limits, in.LicenseType = lim, lic.LicenseType
	in.CustomField1, in.CustomField2, in.CustomField3 = lic.CustomField1, lic.CustomField2, lic.CustomField3
	return nil
}
