package storage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
)

// A backup taken while the store is written to restores to a store with
// the record, counters, events, activation files and bans; a restore never
// writes into a non-empty directory, and garbage is refused.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir(), engine.StoreLimits{})
	defer s.Close()
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	if err := s.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
		r.SchemaVersion, r.LicenseKey, r.MachineID = engine.SchemaVersion, "LH-TEST", "server_0123456789abcdef"
		return []engine.Event{{At: at, Kind: engine.EventActivated, Message: "ok"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	admit := func(int64) ([]byte, bool, error) { return nil, true, nil }
	if _, err := s.Consume(ctx, engine.ConsumeRequest{N: 7, Now: at}, admit); err != nil {
		t.Fatal(err)
	}
	s.PutActivation(ctx, engine.InstalledActivation{Serial: "AF-1", File: "f", InstalledAt: at})
	s.UninstallActivation(ctx, engine.BannedSerial{Serial: "AF-2", At: at, Receipt: "r"})

	// Writers keep going during the backup.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				s.Consume(ctx, engine.ConsumeRequest{Counter: "other", N: 1, Now: at}, admit)
			}
		}
	}()
	var buf bytes.Buffer
	err := s.Backup(ctx, &buf)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "db")
	if err := Restore(dir, bytes.NewReader(buf.Bytes()), Options{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	r := openT(t, dir, engine.StoreLimits{})
	defer r.Close()
	rec, err := r.Load(ctx)
	if err != nil || rec.LicenseKey != "LH-TEST" {
		t.Fatalf("record %+v %v", rec, err)
	}
	if n, _ := r.Usage(ctx, ""); n != 7 {
		t.Fatalf("counter %d", n)
	}
	if evs, _ := r.Events(ctx, 10); len(evs) == 0 {
		t.Fatal("events lost")
	}
	if as, _ := r.Activations(ctx); len(as) != 1 {
		t.Fatal("activation files lost")
	}
	if _, found, _ := r.Banned(ctx, "AF-2"); !found {
		t.Fatal("ban lost")
	}

	if err := Restore(dir, bytes.NewReader(buf.Bytes()), Options{Logger: quiet}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("restore over a store: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "db")
	if err := Restore(bad, bytes.NewReader([]byte("not a backup at all")), Options{Logger: quiet}); err == nil {
		t.Fatal("garbage restored")
	}
	if ents, _ := os.ReadDir(bad); len(ents) != 0 {
		t.Fatalf("a failed restore left %d files behind", len(ents))
	}
}
