package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/storage"
)

// editRecord changes the stored record of a stopped host the way someone
// who knows the storage format would: through the store, so the database
// stays valid and only the record's content changes. With reseal, the
// record is sealed again with the installation secret (an attacker who
// read record.key, e.g. root).
func editRecord(t *testing.T, dataDir string, reseal bool, edit func(*engine.Record)) {
	t.Helper()
	st, err := storage.Open(filepath.Join(dataDir, "db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var secret []byte
	if reseal {
		b, err := os.ReadFile(filepath.Join(dataDir, sealKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		secret = []byte(strings.TrimSpace(string(b)))
	}
	err = st.Update(context.Background(), func(r *engine.Record) ([]engine.Event, error) {
		edit(r)
		if reseal {
			r.Seal = ""
			b, err := json.Marshal(r)
			if err != nil {
				return nil, err
			}
			m := hmac.New(sha256.New, secret)
			m.Write([]byte("licensehost-record-v1\n"))
			m.Write(b)
			r.Seal = hex.EncodeToString(m.Sum(nil))
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var recordEdits = map[string]func(*engine.Record){
	"limitTotal 50→900":      func(r *engine.Record) { r.LimitTotal = engine.Int64(900) },
	"remoteVerifiedAt +29 d": func(r *engine.Record) { r.RemoteVerifiedAt = r.RemoteVerifiedAt.Add(29 * day) },
	"machineId":              func(r *engine.Record) { r.MachineID = "server_00000000deadbeef" },
	"licenseTypeName":        func(r *engine.Record) { r.LastLicenseTypeName = "终生赞助版" },
}

// assertTampered checks the status, the event and the log line of a
// tampered record.
func assertTampered(t *testing.T, h *host) {
	t.Helper()
	st := h.status()
	if st.Status != "tampered" || st.Reason != "record_tampered" || st.IsSponsored || st.Message == "" ||
		st.Limits.Total == nil || *st.Limits.Total != 200 || st.Limits.Batch == nil || *st.Limits.Batch != 20 {
		t.Fatalf("edited record: %+v", st)
	}
	evs, err := h.client.Events(context.Background(), 20)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		found = found || ev.Kind == "record_tampered"
	}
	if !found {
		t.Fatalf("no record_tampered event: %+v", evs)
	}
	if !strings.Contains(h.stderr.String(), "tampered") {
		t.Fatalf("no log line about the tampered record:\n%s", h.stderr.String())
	}
}

// Defect 7 without a pinned key: the seal catches an edit of the stored
// record (limits, verification time, machine code, type); a successful
// verification then restores the license.
func TestEditedRecordIsTamperedWithoutPinnedKey(t *testing.T) {
	srv := newLicenseServer(t)
	for name, edit := range recordEdits {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			activatedStore(t, dir, e2eKey, fast(srv, "7", "15")...)
			editRecord(t, dir, false, edit)
			h := startHost(t, dir, fast(srv, "7", "15")...)
			// The startup verification repairs the record; wait for it
			// only after checking what the edit caused.
			st := h.status()
			if st.Status != "tampered" && (st.Failures != 0 || st.Status != "active") {
				t.Fatalf("edited record: %+v", st)
			}
			if !strings.Contains(h.stderr.String(), "tampered") {
				t.Fatalf("no log line about the tampered record:\n%s", h.stderr.String())
			}
			if res, err := h.client.Heartbeat(context.Background()); err != nil || res.Status != "active" {
				t.Fatalf("a successful verification should restore the license: %+v %v", res, err)
			}
			if st := h.status(); st.Limits.Total == nil || *st.Limits.Total != 50 {
				t.Fatalf("after the verification: %+v", st.Limits)
			}
		})
	}
}

// The same edits with the server down at the restart: the status stays
// tampered with community limits, with an event and an error line.
func TestEditedRecordStaysTamperedOffline(t *testing.T) {
	srv := newLicenseServer(t)
	dir := t.TempDir()
	activatedStore(t, dir, e2eKey, fast(srv, "7", "15")...)
	editRecord(t, dir, false, recordEdits["limitTotal 50→900"])
	srv.SetDown(true)
	h := startHost(t, dir, fast(srv, "7", "15")...)
	assertTampered(t, h)
	if q, err := h.client.QuotaCheck(context.Background(), api.QuotaCheckRequest{Batch: 21}); err != nil || q.Allowed {
		t.Fatalf("a tampered record must get community limits: %+v %v", q, err)
	}
	// Restarting does not launder it.
	h.stop()
	h = startHost(t, dir, fast(srv, "7", "15")...)
	assertTampered(t, h)
}

// A record copied from another installation does not match this
// installation's secret.
func TestRecordCopiedFromElsewhereIsTampered(t *testing.T) {
	srv := newLicenseServer(t)
	a, b := t.TempDir(), t.TempDir()
	activatedStore(t, a, e2eKey, fast(srv, "7", "15")...)
	h := startHost(t, b, fast(srv, "7", "15")...) // creates b's own secret
	h.stop()
	if err := os.RemoveAll(filepath.Join(b, "db")); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(b, "db"), os.DirFS(filepath.Join(a, "db"))); err != nil {
		t.Fatal(err)
	}
	srv.SetDown(true)
	h = startHost(t, b, fast(srv, "7", "15")...)
	assertTampered(t, h)
}

// With a pinned server key, even an editor holding the installation secret
// (who re-seals the record) is caught: the license fields and the
// verification time are re-derived from the signed answer kept verbatim.
func TestEditedRecordIsTamperedWithPinnedKey(t *testing.T) {
	ls := startLicensedServer(t)
	for name, edit := range recordEdits {
		t.Run(name, func(t *testing.T) {
			key := ls.lic("key", "issue", "--type", "annual")
			dir := t.TempDir()
			args := []string{"--license-server", ls.url, "--server-public-key", ls.pub, "--machine-id", "server_000000000000c0de"}
			h := startHost(t, dir, args...)
			if res, err := h.activate(key); err != nil || res.Status != "active" {
				t.Fatalf("activate: %+v %v", res, err)
			}
			h.stop()
			editRecord(t, dir, true, edit)
			// The server unreachable, so the startup verification cannot
			// repair the record.
			h = startHost(t, dir, append(args[2:], "--license-server", "http://127.0.0.1:9")...)
			if name == "machineId" {
				// A changed machine code is caught by the machine check
				// or the proof, whichever comes first: either way not
				// sponsored.
				if st := h.status(); st.IsSponsored {
					t.Fatalf("edited machine code: %+v", st)
				}
				return
			}
			assertTampered(t, h)
		})
	}
	// An unedited record with a pinned key is not tampered, across restarts.
	key := ls.lic("key", "issue", "--type", "annual")
	dir := t.TempDir()
	args := []string{"--license-server", ls.url, "--server-public-key", ls.pub, "--machine-id", "server_000000000000c0de"}
	activatedStore(t, dir, key, args...)
	h := startHost(t, dir, args...)
	if st := h.status(); st.Status != "active" {
		t.Fatalf("unedited record after a restart: %+v", st)
	}
	_ = time.Second
}

// Warnings at start and in the status: a plain-http license server on the
// network, and no pinned server key.
func TestTrustWarnings(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), fast(srv, "7", "15")...)
	st := h.status()
	if len(st.Notes) != 1 || !strings.Contains(st.Notes[0], "no license server key is pinned") {
		t.Fatalf("loopback http without a key: notes %q", st.Notes)
	}
	h2 := startHost(t, t.TempDir(), "--license-server", "http://192.0.2.10:7480", "--remote-timeout", "1s")
	st = h2.status()
	if len(st.Notes) != 2 || !strings.Contains(st.Notes[0], "plain http://") {
		t.Fatalf("network http without a key: notes %q", st.Notes)
	}
	h2.stop()
	if logs := h2.stderr.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "plain http://") || !strings.Contains(logs, "no license server key is pinned") {
		t.Fatalf("start-up warnings missing:\n%s", logs)
	}
	ls := startLicensedServer(t)
	h3 := startHost(t, t.TempDir(), "--license-server", ls.url, "--server-public-key", ls.pub)
	if st := h3.status(); len(st.Notes) != 0 {
		t.Fatalf("loopback with a pinned key: notes %q", st.Notes)
	}
}
