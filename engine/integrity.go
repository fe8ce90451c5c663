package engine

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/licensehost/licensehost/internal/licapi"
	"github.com/licensehost/licensehost/internal/mask"
)

// Tamper evidence (docs/reliability.md). Two mechanisms, both checked at
// every load of the record:
//
//   - the seal: an HMAC-SHA256 of the record under the installation secret
//     (Options.SealKey), written with every record update. An edit of the
//     stored bytes, or a record copied from another installation, no longer
//     matches it.
//   - the proofs: with a pinned server key (Options.Proofs), the signed
//     answers the license came from are kept verbatim in the record, and the
//     license fields and the verification time are re-derived from them. A
//     record that disagrees cannot have been written from a genuine answer,
//     even by someone holding the installation secret.
//
// A record that fails either is `tampered`: not sponsored, community limits,
// a record_tampered event and an error log line, until a successful
// verification or a clear replaces it.

// ReasonTampered is the reason of StatusTampered.
const ReasonTampered = "record_tampered"

// proofSlack is how much later than its signed answer's time a recorded
// verification time may be: the signature allows 5 minutes of skew, the
// clock tolerance 5 more, and a little room.
const proofSlack = 15 * time.Minute

// maxProofBytes bounds the answer body kept as a proof; a larger answer is
// accepted but not kept, and the host re-verifies at its next start.
const maxProofBytes = 32 << 10

// sealDomain separates record seals from any other use of the secret.
const sealDomain = "licensehost-record-v1\n"

// sealOf computes rec's seal: HMAC-SHA256 under the installation secret of
// the record's JSON without the seal.
func (e *Engine) sealOf(rec Record) string {
	rec.Seal = ""
	b, err := json.Marshal(rec)
	if err != nil { // a Record always encodes; never seal what does not
		return "unencodable"
	}
	m := hmac.New(sha256.New, e.sealKey)
	m.Write([]byte(sealDomain))
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// isEmpty reports whether r holds nothing but its schema version (a store
// that never had a record written).
func (r Record) isEmpty() bool {
	return reflect.DeepEqual(r, Record{SchemaVersion: r.SchemaVersion})
}

// integrity returns "" when rec agrees with its seal and its proofs, and
// otherwise why not, in words for the status and the event log.
func (e *Engine) integrity(rec Record) string {
	if rec.Tampered != "" {
		return rec.Tampered
	}
	if e.sealKey != nil && !rec.isEmpty() {
		switch {
		case rec.Seal == "":
			if !e.sealLegacy.Load() {
				return "the stored license record carries no seal: it was edited, or written without this installation's secret"
			}
		case !hmac.Equal([]byte(e.sealOf(rec)), []byte(rec.Seal)):
			return "the stored license record does not match its seal: it was edited, or copied from another installation"
		}
	}
	if e.proofs != nil && rec.HasLicense() && !rec.RemoteVerifiedAt.IsZero() && rec.LicenseProof != nil {
		return e.checkProofs(rec)
	}
	return ""
}

// proven checks a proof, remembering the last few answers so a record
// loaded many times is verified once.
func (e *Engine) proven(p Proof) (ProvenAnswer, error) {
	sum := sha256.Sum256(append([]byte(p.Path+"\n"+p.MachineID+"\n"+p.Nonce+"\n"+p.Signature+"\n"), p.Body...))
	k := string(sum[:])
	e.proofMu.Lock()
	pa, ok := e.proofCache[k]
	e.proofMu.Unlock()
	if ok {
		return pa, nil
	}
	pa, err := e.proofs.CheckProof(p)
	if err != nil {
		return pa, err
	}
	e.proofMu.Lock()
	if len(e.proofCache) >= 8 {
		clear(e.proofCache)
	}
	e.proofCache[k] = pa
	e.proofMu.Unlock()
	return pa, nil
}

// checkProofs re-derives the license fields and the verification time from
// rec's proofs and compares.
func (e *Engine) checkProofs(rec Record) string {
	pa, err := e.proven(*rec.LicenseProof)
	if err != nil {
		return "the signed answer stored with the license does not verify under the pinned server key (" + err.Error() + ")"
	}
	if why := provenAcceptance(rec, *rec.LicenseProof, pa); why != "" {
		return why
	}
	lic := pa.Result.License
	var want Record
	if lic != nil {
		want.License = lic.Raw
		want.LastLicenseTypeName = licenseTypeName(lic)
		want.LimitTotal, want.LimitBatch = ParseLimit(string(lic.CustomField1)), ParseLimit(string(lic.CustomField2))
		want.ExpiresAt = lic.ExpiresAt.Time
	}
	switch {
	case !sameJSON(rec.License, want.License):
		return "the stored license object differs from the signed answer's"
	case rec.LastLicenseTypeName != want.LastLicenseTypeName:
		return fmt.Sprintf("the stored license type %q differs from the signed answer's %q", rec.LastLicenseTypeName, want.LastLicenseTypeName)
	case !sameLimit(rec.LimitTotal, want.LimitTotal) || !sameLimit(rec.LimitBatch, want.LimitBatch):
		return fmt.Sprintf("the stored limits (%s / %s) differ from the signed answer's (%s / %s)",
			limitText(rec.LimitTotal), limitText(rec.LimitBatch), limitText(want.LimitTotal), limitText(want.LimitBatch))
	case !rec.ExpiresAt.Equal(want.ExpiresAt):
		return "the stored expiry differs from the signed answer's"
	}
	latest := pa.SignedAt
	if vp := rec.VerifyProof; vp != nil {
		pv, err := e.proven(*vp)
		if err != nil {
			return "the signed answer of the last verification does not verify under the pinned server key (" + err.Error() + ")"
		}
		if why := provenAcceptance(rec, *vp, pv); why != "" {
			return why
		}
		if pv.SignedAt.After(latest) {
			latest = pv.SignedAt
		}
	}
	if rec.RemoteVerifiedAt.After(latest.Add(proofSlack)) {
		return fmt.Sprintf("the stored verification time %s is later than the signed answer's %s",
			rec.RemoteVerifiedAt.UTC().Format(time.RFC3339), latest.UTC().Format(time.RFC3339))
	}
	return ""
}

// provenAcceptance checks that a proven answer accepted rec's key for rec's
// machine.
func provenAcceptance(rec Record, p Proof, pa ProvenAnswer) string {
	switch {
	case !pa.Result.Success:
		return "the stored signed answer is not an acceptance"
	case p.MachineID != rec.MachineID:
		return fmt.Sprintf("the stored machine code %s differs from the one the signed answer was for (%s)", rec.MachineID, p.MachineID)
	case pa.Result.License != nil && pa.Result.License.LicenseKey != "" && !SameLicenseKey(string(pa.Result.License.LicenseKey), rec.LicenseKey):
		return fmt.Sprintf("the stored license key %s differs from the signed answer's %s", mask.Key(rec.LicenseKey), mask.Key(string(pa.Result.License.LicenseKey)))
	}
	return ""
}

func licenseTypeName(lic *licapi.License) string {
	if lic.LicenseTypeName != "" {
		return string(lic.LicenseTypeName)
	}
	return string(lic.LicenseTypeDisplayName)
}

func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

func sameLimit(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func limitText(p *int64) string {
	if p == nil {
		return "unlimited"
	}
	return fmt.Sprint(*p)
}

// keepProofs records the signed answer of a success in rec: the answer the
// license fields come from, or — when it carried no license object and the
// key stood already — the latest verification's.
func keepProofs(rec *Record, res RemoteResult, sameKey bool) {
	p := res.Proof
	if p != nil && len(p.Body) > maxProofBytes {
		p = nil
	}
	switch {
	case p == nil:
		rec.LicenseProof, rec.VerifyProof = nil, nil
	case res.License == nil && sameKey && rec.LicenseProof != nil:
		rec.VerifyProof = p
	default:
		rec.LicenseProof, rec.VerifyProof = p, nil
	}
}

// CheckIntegrity checks the stored record against its seal and proofs; the
// daemon calls it at every start. A record of an earlier version (no seal,
// and the installation secret was created at this start) is sealed. A
// tampered record is flagged durably — with a record_tampered event and an
// error log line — the first time; later starts log the error again. It
// returns why the record is tampered, "" when it is intact.
func (e *Engine) CheckIntegrity(ctx context.Context) (string, error) {
	defer e.sealLegacy.Store(false)
	rec, err := e.store.Load(ctx)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if e.sealKey != nil && rec.Seal == "" && e.sealLegacy.Load() && !rec.isEmpty() {
		if err := e.update(ctx, func(*Record) ([]Event, error) { return nil, nil }); err != nil {
			return "", err
		}
		e.log.Info("sealed the license record written by an earlier version")
		rec, err = e.store.Load(ctx)
		if err != nil {
			return "", err
		}
	}
	e.sealLegacy.Store(false)
	why := e.integrity(rec)
	if why == "" {
		return "", nil
	}
	if rec.Tampered == "" {
		if err := e.update(ctx, func(*Record) ([]Event, error) { return nil, nil }); err != nil {
			return why, err
		}
	} else {
		e.log.Error("the license record was tampered with; running as community until a successful verification or a clear", "why", why)
	}
	return why, nil
}
