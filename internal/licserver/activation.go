package licserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/lickey"
	"github.com/licensehost/licensehost/internal/licserver/store"
)

// IssuedFile is the answer to issuing an activation file.
type IssuedFile struct {
	Serial    string `json:"serial"`
	Kid       string `json:"kid"`
	Kind      string `json:"kind"`
	MachineID string `json:"machineId"`
	File      string `json:"file"` // the armored activation file
	// Reissued is true when the installation already had an unreleased
	// file for this key: the same file is handed out again (a lost file is
	// recovered this way) and no new binding is made.
	Reissued bool `json:"reissued"`
}

// Released is the answer to releasing an activation file by its receipt.
type Released struct {
	Serial    string `json:"serial"`
	MachineID string `json:"machineId"`
	// Freed is true when the device binding was freed (a migratable
	// license); a non-migratable one stays bound to the machine.
	Freed bool `json:"freed"`
	// Already is true when this receipt had been accepted before.
	Already bool `json:"already"`
}

// ActivationAdmin is what an operator does with activation files and
// signing keys: the Service's local operations (ActivationsAs) and the
// admin HTTP API (AdminClient) both implement it. Errors wrap ErrInvalid
// (a bad request or receipt file, with actfile's message), ErrNoSuchKey,
// ErrNoSuchActivation or ErrRefused.
type ActivationAdmin interface {
	IssueActivation(ctx context.Context, request []byte, licenseKey string) (IssuedFile, error)
	ReleaseActivation(ctx context.Context, receipt []byte) (Released, error)
	ListActivations(ctx context.Context, key string) ([]store.IssuedActivation, error)
	SigningKeys(ctx context.Context) ([]KeyInfo, error)
	RotateSigningKey(ctx context.Context, kid string) (KeyInfo, error)
}

// ActivationsAs returns the Service's activation operations signing with
// keys, audited as actor.
func (s *Service) ActivationsAs(actor string, keys *Keyring) ActivationAdmin {
	return &actOps{s: s, actor: actor, keys: keys}
}

type actOps struct {
	s     *Service
	actor string
	keys  *Keyring
}

var _ ActivationAdmin = (*actOps)(nil)

// checkTypeActivation validates (and normalises) the activation fields of
// a license type being added.
func checkTypeActivation(t *store.LicenseType) error {
	switch t.Kind {
	case "", string(actfile.Formal):
	case string(actfile.Temporary):
		if t.Uninstallable || t.Migratable {
			return fmt.Errorf("%w: a temporary license can be neither uninstalled nor migrated", ErrInvalid)
		}
	default:
		return fmt.Errorf("%w: kind must be temporary or formal", ErrInvalid)
	}
	if t.Migratable && !t.Uninstallable {
		return fmt.Errorf("%w: a migratable license must be uninstallable (migration is uninstall + release + issue)", ErrInvalid)
	}
	if len(t.Features) > actfile.MaxFeatures {
		return fmt.Errorf("%w: more than %d features", ErrInvalid, actfile.MaxFeatures)
	}
	seen := map[string]bool{}
	for _, f := range t.Features {
		if !actfile.ValidFeatureName(f) {
			return fmt.Errorf("%w: feature %q: 1-64 of [a-z0-9._-]", ErrInvalid, f)
		}
		if seen[f] {
			return fmt.Errorf("%w: feature %q twice", ErrInvalid, f)
		}
		seen[f] = true
	}
	return nil
}

func refused(a Answer) error {
	return fmt.Errorf("%w: %s (%s)", ErrRefused, a.Message, a.Details)
}

// IssueActivation turns a request file into an activation file for
// licenseKey (or the key in the request). Issuing binds the request's
// machine to the key under the same device, use and churn limits as an
// online activation.
func (a *actOps) IssueActivation(ctx context.Context, request []byte, licenseKey string) (IssuedFile, error) {
	now := a.s.clock.Now().UTC().Truncate(time.Second)
	req, err := actfile.ParseRequest(request)
	if err != nil {
		return IssuedFile{}, fmt.Errorf("%w: request file: %w", ErrInvalid, err)
	}
	if licenseKey == "" {
		licenseKey = req.LicenseKey
	}
	if licenseKey == "" {
		return IssuedFile{}, fmt.Errorf("%w: no license key (give one, or put it in the request)", ErrInvalid)
	}
	key, err := lickey.Parse(licenseKey)
	if err != nil {
		return IssuedFile{}, fmt.Errorf("%w: %s", ErrNoSuchKey, lickey.Mask(licenseKey))
	}
	unlock := a.s.lock(key)
	defer unlock()
	var (
		out  IssuedFile
		put  *store.License
		rec  store.IssuedActivation
		deny error
	)
	err = a.s.st.View(func(tx *store.Tx) error {
		l, t, ans, ok, err := a.s.loadUsable(tx, key, now)
		if err != nil {
			return err
		}
		if !ok {
			deny = refused(ans)
			return nil
		}
		var prev *store.IssuedActivation
		err = tx.Activations(func(x store.IssuedActivation) bool {
			if x.Key == key && x.MachineID == req.MachineID && x.InstallationKey == req.InstallationKey && x.ReleasedAt.IsZero() {
				prev = &x
				return false
			}
			return true
		})
		if err != nil {
			return err
		}
		if prev != nil {
			// Hand out the same file again; after a signing-key rotation,
			// the same payload signed by the current key (docs).
			if kid, priv := a.keys.Current(); prev.Kid != kid {
				sa, err := actfile.ParseActivation([]byte(prev.File))
				if err != nil {
					return err
				}
				file, err := actfile.SignActivation(sa.Activation, kid, priv)
				if err != nil {
					return err
				}
				rec = *prev
				rec.Kid, rec.File = kid, string(file)
				prev = &rec
			}
			out = IssuedFile{Serial: prev.Serial, Kid: prev.Kid, Kind: prev.Kind, MachineID: prev.MachineID, File: prev.File, Reissued: true}
			return nil
		}
		kind := actfile.Kind(t.Kind)
		if kind == "" {
			kind = actfile.Formal
		}
		if kind == actfile.Temporary && l.ExpiresAt.IsZero() {
			deny = fmt.Errorf("%w: type %q is temporary but key %s never expires; give the key an expiry", ErrInvalid, t.Name, lickey.Mask(key))
			return nil
		}
		serial, err := actfile.NewSerial(nil)
		if err != nil {
			return err
		}
		if l.Device(req.MachineID) < 0 {
			if ans := admitNew(l, a.s.churnAdmit(now)); ans != nil {
				deny = refused(*ans)
				return nil
			}
			bindNew(&l, req.MachineID, "activation-file:"+serial, now)
		}
		l.UpdatedAt = now
		put = &l
		act := actfile.Activation{
			Serial: serial, Product: a.s.appName, LicenseKeyHash: actfile.HashKey(key), LicenseKeyHint: lickey.Mask(key),
			LicenseType: l.Type, LicenseTypeDisplayName: t.DisplayName, Kind: kind,
			CustomField1: l.CustomField1, CustomField2: l.CustomField2, CustomField3: l.CustomField3,
			Uninstallable: kind == actfile.Formal && t.Uninstallable, Migratable: kind == actfile.Formal && t.Migratable,
			MachineID: req.MachineID, InstallationKey: req.InstallationKey, IssuedAt: now,
			Features: make([]actfile.Feature, 0, len(t.Features)),
		}
		if !l.ExpiresAt.IsZero() {
			e := l.ExpiresAt.UTC()
			act.ExpiresAt = &e
		}
		for _, f := range t.Features {
			act.Features = append(act.Features, actfile.Feature{Name: f})
		}
		kid, priv := a.keys.Current()
		file, err := actfile.SignActivation(act, kid, priv)
		if err != nil {
			return err
		}
		rec = store.IssuedActivation{Serial: serial, Key: key, MachineID: req.MachineID, InstallationKey: req.InstallationKey,
			Kind: string(kind), Uninstallable: act.Uninstallable, Migratable: act.Migratable, Kid: kid,
			IssuedAt: now, ExpiresAt: l.ExpiresAt, File: string(file)}
		out = IssuedFile{Serial: serial, Kid: kid, Kind: string(kind), MachineID: req.MachineID, File: string(file)}
		return nil
	})
	if err != nil {
		return IssuedFile{}, err
	}
	entry := store.AuditEntry{At: now, Actor: a.actor, Action: "activation.issue", Key: key, MachineID: req.MachineID, Outcome: "ok"}
	switch {
	case deny != nil:
		entry.Outcome = deny.Error()
	case out.Reissued:
		entry.Detail = "serial " + out.Serial + " handed out again (kid " + out.Kid + ")"
	default:
		entry.Detail = "serial " + out.Serial + " " + out.Kind + " kid " + out.Kid
	}
	err = a.s.st.Update(func(tx *store.Tx) error {
		if put != nil {
			if err := tx.PutLicense(*put); err != nil {
				return err
			}
		}
		if rec.Serial != "" {
			if err := tx.PutActivation(rec); err != nil {
				return err
			}
		}
		return tx.Audit(entry)
	})
	if err != nil {
		return IssuedFile{}, err
	}
	if deny != nil {
		return IssuedFile{}, deny
	}
	a.s.log.Info("activation file issued", "actor", a.actor, "key", lickey.Mask(key), "machine", req.MachineID,
		"serial", out.Serial, "kid", out.Kid, "reissued", out.Reissued)
	return out, nil
}

// ReleaseActivation accepts an uninstall receipt: it must be signed by the
// installation the file was issued to. A migratable license's device
// binding is freed, so the key can be activated on another machine.
// Accepting the same receipt twice answers Already.
func (a *actOps) ReleaseActivation(ctx context.Context, receipt []byte) (Released, error) {
	now := a.s.clock.Now().UTC().Truncate(time.Second)
	rc, err := actfile.ParseReceipt(receipt)
	if err != nil {
		return Released{}, fmt.Errorf("%w: receipt: %w", ErrInvalid, err)
	}
	var rec store.IssuedActivation
	err = a.s.st.View(func(tx *store.Tx) error {
		rec, err = tx.Activation(rc.Serial)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Released{}, fmt.Errorf("%w: %s", ErrNoSuchActivation, rc.Serial)
	}
	if err != nil {
		return Released{}, err
	}
	if rec.InstallationKey != rc.InstallationKey || rec.MachineID != rc.MachineID || actfile.HashKey(rec.Key) != rc.LicenseKeyHash {
		return Released{}, fmt.Errorf("%w: the receipt is not from the installation serial %s was issued to", ErrInvalid, rc.Serial)
	}
	if !rec.Uninstallable {
		return Released{}, fmt.Errorf("%w: serial %s is not an uninstallable license", ErrInvalid, rc.Serial)
	}
	unlock := a.s.lock(rec.Key)
	defer unlock()
	out := Released{Serial: rec.Serial, MachineID: rec.MachineID, Freed: rec.Migratable}
	err = a.s.st.Update(func(tx *store.Tx) error {
		cur, err := tx.Activation(rc.Serial)
		if err != nil {
			return err
		}
		if !cur.ReleasedAt.IsZero() {
			out.Already = true
			return nil
		}
		cur.ReleasedAt = now
		if err := tx.PutActivation(cur); err != nil {
			return err
		}
		detail := "serial " + cur.Serial + " released"
		if cur.Migratable {
			l, err := tx.License(cur.Key)
			if err != nil {
				return err
			}
			if i := l.Device(cur.MachineID); i >= 0 {
				l.Devices = slices.Delete(l.Devices, i, i+1)
				l.UpdatedAt = now
				if err := tx.PutLicense(l); err != nil {
					return err
				}
			}
			detail += ", device slot freed"
		} else {
			detail += ", not migratable: the machine stays bound"
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: a.actor, Action: "activation.release", Key: cur.Key,
			MachineID: cur.MachineID, Outcome: "ok", Detail: detail})
	})
	if err != nil {
		return Released{}, err
	}
	a.s.log.Info("activation file released", "actor", a.actor, "key", lickey.Mask(rec.Key), "serial", rec.Serial,
		"freed", out.Freed, "already", out.Already)
	return out, nil
}

// ListActivations lists issued files, of one key when key is not empty.
func (a *actOps) ListActivations(ctx context.Context, key string) ([]store.IssuedActivation, error) {
	if key != "" {
		k, err := lickey.Parse(key)
		if err != nil {
			return nil, fmt.Errorf("%w: %s", ErrNoSuchKey, lickey.Mask(key))
		}
		key = k
	}
	out := []store.IssuedActivation{}
	err := a.s.st.View(func(tx *store.Tx) error {
		return tx.Activations(func(x store.IssuedActivation) bool {
			if key == "" || x.Key == key {
				out = append(out, x)
			}
			return true
		})
	})
	return out, err
}

func (a *actOps) SigningKeys(ctx context.Context) ([]KeyInfo, error) { return a.keys.List(), nil }

// RotateSigningKey makes a new current signing key (kid chosen, or derived
// from the key when empty).
func (a *actOps) RotateSigningKey(ctx context.Context, kid string) (KeyInfo, error) {
	ki, err := a.keys.Rotate(kid)
	if err != nil {
		return KeyInfo{}, err
	}
	now := a.s.clock.Now()
	err = a.s.st.Update(func(tx *store.Tx) error {
		return tx.Audit(store.AuditEntry{At: now, Actor: a.actor, Action: "signing-key.rotate", Outcome: "ok",
			Detail: "new current kid " + ki.Kid})
	})
	a.s.log.Info("signing key rotated", "actor", a.actor, "kid", ki.Kid)
	return ki, err
}
