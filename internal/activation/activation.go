// Package activation is the host side of offline activation
// (docs/activation-files.md): the installation key, request files,
// installing, listing, uninstalling and deleting activation files, and
// turning installed files into grants of the feature model. The file
// formats belong to internal/actfile; storage keeps the files and banned
// serials (engine.ActivationStore).
package activation

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/actfile"
)

// Engine is what the manager needs of the engine (*engine.Engine).
type Engine interface {
	MachineID() string
	EffectiveNow(ctx context.Context) (time.Time, error)
	InstallGrants(ctx context.Context, source string, grants []engine.Grant) error
	RemoveGrants(ctx context.Context, source string) error
}

// Store keeps installed files and bans, and lists grants (storage.Store).
type Store interface {
	engine.ActivationStore
	Grants(ctx context.Context) ([]engine.Grant, error)
}

// DefaultTolerance is how far in the future an issue time may lie (clocks
// of vendor and site differ a little).
const DefaultTolerance = 5 * time.Minute

// Config configures a Manager.
type Config struct {
	Engine Engine
	Store  Store
	Key    ed25519.PrivateKey // the installation key
	Trust  actfile.TrustSet   // trusted vendor keys by kid
	// Signals is the fingerprint report (machine-id --explain --json) put
	// in request files.
	Signals   json.RawMessage
	Tolerance time.Duration // 0: DefaultTolerance
	Logger    *slog.Logger
}

// Manager runs the activation operations. Safe for concurrent use; the
// operations are serialised.
type Manager struct {
	cfg Config
	pub string // base64 installation public key
	mu  sync.Mutex
	log *slog.Logger

	// cache holds the honoured files once loaded (offline.go); nil: not
	// loaded. Read without a lock at every quota check; cacheMu serialises
	// loading and invalidation, so that a load never stores what an
	// install made stale.
	cacheMu sync.Mutex
	cache   atomic.Pointer[[]*actfile.SignedActivation]
}

// New returns a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.Engine == nil || cfg.Store == nil || len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("activation: engine, store and installation key are required")
	}
	if cfg.Trust == nil {
		cfg.Trust = actfile.TrustSet{}
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, pub: actfile.EncodeKey(cfg.Key.Public().(ed25519.PublicKey)), log: cfg.Logger}, nil
}

// InstallationKey returns the installation public key (base64).
func (m *Manager) InstallationKey() string { return m.pub }

// Trusted returns the trusted kids, sorted.
func (m *Manager) Trusted() []string { return m.cfg.Trust.Kids() }

// State of an installed file.
const (
	StateInForce      = "in_force"
	StateExpired      = "expired"
	StateUntrusted    = "untrusted"
	StateWrongMachine = "wrong_machine"
	StateDamaged      = "damaged"
)

// Info describes an installed file. It is the local API's type: the server
// answers it as it is.
type Info = api.Activation

// Request writes a request file for this installation, with licenseKey
// when given.
func (m *Manager) Request(ctx context.Context, licenseKey string) ([]byte, error) {
	if len(licenseKey) > 512 || strings.ContainsFunc(licenseKey, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, fmt.Errorf("%w: Invalid license key format", engine.ErrInvalidRequest)
	}
	var nb [16]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return nil, err
	}
	now, err := m.cfg.Engine.EffectiveNow(ctx)
	if err != nil {
		return nil, err
	}
	return actfile.SignRequest(actfile.Request{
		MachineID: m.cfg.Engine.MachineID(), InstallationKey: m.pub, Signals: m.cfg.Signals,
		LicenseKey: strings.TrimSpace(licenseKey), CreatedAt: now.UTC().Truncate(time.Second),
		Nonce: base64.RawURLEncoding.EncodeToString(nb[:]),
	}, m.cfg.Key)
}

// check verifies a parsed file for this installation at now: trusted
// signature, this machine and installation key. (Expiry, future issue time
// and bans are the installer's checks.)
func (m *Manager) check(sa *actfile.SignedActivation) error {
	if err := sa.Verify(m.cfg.Trust); err != nil {
		return err
	}
	if sa.MachineID != m.cfg.Engine.MachineID() || sa.InstallationKey != m.pub {
		if sa.MachineID != m.cfg.Engine.MachineID() {
			return fmt.Errorf("%w (it is bound to %s; this machine is %s)", ErrWrongMachine, sa.MachineID, m.cfg.Engine.MachineID())
		}
		return fmt.Errorf("%w (same machine code, but another installation key: it was issued to another installation, or this data directory was recreated)", ErrWrongMachine)
	}
	return nil
}

func expired(a *actfile.Activation, now time.Time) bool {
	return a.ExpiresAt != nil && !now.Before(*a.ExpiresAt)
}

// Install verifies file and installs it. Installing a file that is
// installed already changes nothing and returns already=true. Nothing is
// stored on any refusal.
func (m *Manager) Install(ctx context.Context, file []byte) (info Info, already bool, err error) {
	sa, err := actfile.ParseActivation(file)
	if err != nil {
		return Info{}, false, err
	}
	if err := m.check(sa); err != nil {
		return Info{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now, err := m.cfg.Engine.EffectiveNow(ctx)
	if err != nil {
		return Info{}, false, err
	}
	if sa.IssuedAt.After(now.Add(m.cfg.Tolerance)) {
		return Info{}, false, fmt.Errorf("%w (issued %s, this machine's time is %s)", ErrIssuedInFuture,
			sa.IssuedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if _, banned, err := m.cfg.Store.Banned(ctx, sa.Serial); err != nil {
		return Info{}, false, err
	} else if banned {
		return Info{}, false, fmt.Errorf("%w (serial %s)", ErrAlreadyUninstalled, sa.Serial)
	}
	if expired(&sa.Activation, now) {
		return Info{}, false, fmt.Errorf("%w (on %s)", ErrExpired, sa.ExpiresAt.UTC().Format(time.RFC3339))
	}
	armored := string(sa.Armored())
	prev, found, err := m.cfg.Store.Activation(ctx, sa.Serial)
	if err != nil {
		return Info{}, false, err
	}
	if found && prev.File == armored {
		// Make sure its grants stand (a crash may have come between the
		// two writes), then answer as the first install did.
		if err := m.cfg.Engine.InstallGrants(ctx, source(sa.Serial), grants(sa)); err != nil {
			return Info{}, false, err
		}
		return m.info(prev, now), true, nil
	}
	rec := engine.InstalledActivation{Serial: sa.Serial, File: armored, InstalledAt: now.UTC()}
	if err := m.cfg.Store.PutActivation(ctx, rec); err != nil {
		return Info{}, false, err
	}
	m.invalidate()
	if err := m.cfg.Engine.InstallGrants(ctx, source(sa.Serial), grants(sa)); err != nil {
		return Info{}, false, err
	}
	m.log.Info("activation file installed", "serial", sa.Serial, "kind", sa.Kind, "kid", sa.Kid, "key", sa.LicenseKeyHint)
	return m.info(rec, now), false, nil
}

func source(serial string) string { return engine.SourceActivationPrefix + serial }

// grants are the feature grants of a file.
func grants(sa *actfile.SignedActivation) []engine.Grant {
	kind := engine.KindFormal
	if sa.Kind == actfile.Temporary {
		kind = engine.KindTemporary
	}
	out := make([]engine.Grant, 0, len(sa.Features))
	for _, f := range sa.Features {
		g := engine.Grant{Feature: f.Name, Kind: kind, Source: source(sa.Serial)}
		if e := sa.FeatureExpiry(f); e != nil {
			g.ExpiresAt = e.UTC()
		}
		out = append(out, g)
	}
	return out
}

// info describes an installed file at now.
func (m *Manager) info(rec engine.InstalledActivation, now time.Time) Info {
	sa, err := actfile.ParseActivation([]byte(rec.File))
	if err != nil {
		return Info{Serial: rec.Serial, State: StateDamaged, Reason: err.Error(), InstalledAt: rec.InstalledAt, Features: []api.ActivationFeature{}}
	}
	in := Info{
		Serial: sa.Serial, State: StateInForce, Kind: string(sa.Kind), Product: sa.Product, LicenseType: sa.LicenseType,
		LicenseTypeDisplayName: sa.LicenseTypeDisplayName, LicenseKeyHint: sa.LicenseKeyHint, Features: make([]api.ActivationFeature, 0, len(sa.Features)),
		ExpiresAt: sa.ExpiresAt, CustomField1: sa.CustomField1, CustomField2: sa.CustomField2, CustomField3: sa.CustomField3,
		Uninstallable: sa.Uninstallable, Migratable: sa.Migratable, Kid: sa.Kid, MachineID: sa.MachineID,
		IssuedAt: sa.IssuedAt, InstalledAt: rec.InstalledAt,
	}
	for _, f := range sa.Features {
		in.Features = append(in.Features, api.ActivationFeature{Name: f.Name, ExpiresAt: f.ExpiresAt})
	}
	if err := m.check(sa); err != nil {
		in.State, in.Reason = StateUntrusted, err.Error()
		if errors.Is(err, ErrWrongMachine) {
			in.State = StateWrongMachine
		}
		return in
	}
	if sa.ExpiresAt != nil {
		d := sa.ExpiresAt.Sub(now).Hours() / 24
		if d <= 0 {
			in.State, in.Reason, d = StateExpired, fmt.Sprintf("expired on %s", sa.ExpiresAt.UTC().Format(time.RFC3339)), 0
		}
		in.DaysLeft = &d
	}
	return in
}

// List describes every installed file.
func (m *Manager) List(ctx context.Context) ([]Info, error) {
	recs, err := m.cfg.Store.Activations(ctx)
	if err != nil {
		return nil, err
	}
	now, err := m.cfg.Engine.EffectiveNow(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(recs))
	for _, r := range recs {
		out = append(out, m.info(r, now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InstalledAt.Before(out[j].InstalledAt) })
	return out, nil
}

func (m *Manager) load(ctx context.Context, serial string) (engine.InstalledActivation, error) {
	if !actfile.ValidSerial(serial) {
		return engine.InstalledActivation{}, fmt.Errorf("%w %q", ErrInvalidSerial, serial)
	}
	rec, found, err := m.cfg.Store.Activation(ctx, serial)
	if err != nil {
		return rec, err
	}
	if !found {
		return rec, fmt.Errorf("%w (%s)", ErrNotInstalled, serial)
	}
	return rec, nil
}

// Uninstall removes an uninstallable formal license in force, bans its
// serial here for good and returns the uninstall receipt (signed by the
// installation key) to take to the vendor.
func (m *Manager) Uninstall(ctx context.Context, serial string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, err := m.load(ctx, serial)
	if err != nil {
		return nil, err
	}
	now, err := m.cfg.Engine.EffectiveNow(ctx)
	if err != nil {
		return nil, err
	}
	in := m.info(rec, now)
	switch {
	case in.State == StateExpired:
		return nil, ErrUninstallExpired
	case in.Kind != string(actfile.Formal):
		return nil, fmt.Errorf("%w (a %s license: only formal licenses can be uninstalled)", ErrNotUninstallable, in.Kind)
	case !in.Uninstallable:
		return nil, fmt.Errorf("%w (its vendor did not make this formal license uninstallable)", ErrNotUninstallable)
	case in.State != StateInForce:
		return nil, fmt.Errorf("%w: %s", ErrNotUninstallable, in.Reason)
	}
	sa, _ := actfile.ParseActivation([]byte(rec.File))
	receipt, err := actfile.SignReceipt(actfile.Receipt{Serial: sa.Serial, LicenseKeyHash: sa.LicenseKeyHash,
		MachineID: sa.MachineID, InstallationKey: m.pub, UninstalledAt: now.UTC().Truncate(time.Second)}, m.cfg.Key)
	if err != nil {
		return nil, err
	}
	// The ban and the removal are one transaction: from here on the serial
	// is dead here even if the grants removal below is cut short (Reconcile
	// removes grants without a file at the next start).
	if err := m.cfg.Store.UninstallActivation(ctx, engine.BannedSerial{Serial: serial, At: now.UTC(), Receipt: string(receipt)}); err != nil {
		return nil, err
	}
	m.invalidate()
	if err := m.cfg.Engine.RemoveGrants(ctx, source(serial)); err != nil {
		return nil, err
	}
	m.log.Info("activation file uninstalled", "serial", serial)
	return receipt, nil
}

// Receipt returns the uninstall receipt of a serial uninstalled here (to
// hand it out again).
func (m *Manager) Receipt(ctx context.Context, serial string) ([]byte, error) {
	b, found, err := m.cfg.Store.Banned(ctx, serial)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w (%s was never uninstalled here)", ErrNotInstalled, serial)
	}
	return []byte(b.Receipt), nil
}

// Delete removes an expired or no longer trusted file. Its serial is not
// banned (an expired file cannot be installed again anyway).
func (m *Manager) Delete(ctx context.Context, serial string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, err := m.load(ctx, serial)
	if err != nil {
		return err
	}
	now, err := m.cfg.Engine.EffectiveNow(ctx)
	if err != nil {
		return err
	}
	if in := m.info(rec, now); in.State == StateInForce {
		return ErrInForce
	}
	if err := m.cfg.Store.DeleteActivation(ctx, serial); err != nil {
		return err
	}
	m.invalidate()
	if err := m.cfg.Engine.RemoveGrants(ctx, source(serial)); err != nil {
		return err
	}
	m.log.Info("activation file deleted", "serial", serial)
	return nil
}

// Reconcile makes the grants match the installed files under the current
// trust set and machine: run at every start. A file whose kid is no longer
// trusted (or that is bound to another machine, as after a restore
// elsewhere) keeps its place in the list but grants nothing; trusting the
// kid again brings its grants back. Grants of files no longer installed go.
func (m *Manager) Reconcile(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.invalidate()
	recs, err := m.cfg.Store.Activations(ctx)
	if err != nil {
		return err
	}
	installed := map[string]bool{}
	for _, r := range recs {
		src := source(r.Serial)
		installed[src] = true
		sa, err := actfile.ParseActivation([]byte(r.File))
		if err == nil {
			err = m.check(sa)
		}
		if err != nil {
			m.log.Warn("installed activation file not honoured", "serial", r.Serial, "reason", err.Error())
			if err := m.cfg.Engine.RemoveGrants(ctx, src); err != nil {
				return err
			}
			continue
		}
		if err := m.cfg.Engine.InstallGrants(ctx, src, grants(sa)); err != nil {
			return err
		}
	}
	gs, err := m.cfg.Store.Grants(ctx)
	if err != nil {
		return err
	}
	for _, g := range gs {
		if strings.HasPrefix(g.Source, engine.SourceActivationPrefix) && !installed[g.Source] {
			if err := m.cfg.Engine.RemoveGrants(ctx, g.Source); err != nil {
				return err
			}
			installed[g.Source] = true
		}
	}
	return nil
}
