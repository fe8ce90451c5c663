package activation

import (
	"context"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/actfile"
)

var _ engine.OfflineSource = (*Manager)(nil)

// honoured returns the installed files that verify here (trusted kid, this
// machine and installation key), parsed once and cached until the next
// install, uninstall, delete or reconcile.
func (m *Manager) honoured(ctx context.Context) ([]*actfile.SignedActivation, error) {
	if c := m.cache.Load(); c != nil {
		return *c, nil
	}
	m.cacheMu.Lock()
	defer m.cacheMu.Unlock()
	if c := m.cache.Load(); c != nil {
		return *c, nil
	}
	recs, err := m.cfg.Store.Activations(ctx)
	if err != nil {
		return nil, err
	}
	out := []*actfile.SignedActivation{}
	for _, r := range recs {
		sa, err := actfile.ParseActivation([]byte(r.File))
		if err == nil && m.check(sa) == nil {
			out = append(out, sa)
		}
	}
	m.cache.Store(&out)
	return out, nil
}

func (m *Manager) invalidate() {
	m.cacheMu.Lock()
	m.cache.Store(nil)
	m.cacheMu.Unlock()
}

// OfflineLicense implements engine.OfflineSource: among the files in force
// at now, a formal one before a temporary one, then the latest issued. Its
// quota fields set the limits while no online license stands.
func (m *Manager) OfflineLicense(ctx context.Context, now time.Time) (engine.OfflineLicense, bool, error) {
	files, err := m.honoured(ctx)
	if err != nil {
		return engine.OfflineLicense{}, false, err
	}
	var best *actfile.SignedActivation
	for _, sa := range files {
		if expired(&sa.Activation, now) {
			continue
		}
		if best == nil || better(sa, best) {
			best = sa
		}
	}
	if best == nil {
		return engine.OfflineLicense{}, false, nil
	}
	return engine.OfflineLicense{Source: source(best.Serial), LicenseType: best.LicenseType,
		CustomField1: best.CustomField1, CustomField2: best.CustomField2, CustomField3: best.CustomField3}, true, nil
}

func better(a, b *actfile.SignedActivation) bool {
	if a.Kind != b.Kind {
		return a.Kind == actfile.Formal
	}
	return a.IssuedAt.After(b.IssuedAt)
}
