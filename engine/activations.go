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
// (SPEC's clock high-water mark), so a clock turned back extends nothing.
func (e *Engine) EffectiveNow(ctx context.Context) (time.Time, error) {
	now := e.now()
	rec, err := e.load(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return EffectiveNow(now, e.highWater(rec)), nil
}
