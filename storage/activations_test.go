package storage

import (
	"context"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
)

// Installed files and bans survive a reopen; uninstall removes and bans in
// one transaction; delete removes without banning.
func TestActivations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	s := openT(t, dir, engine.StoreLimits{})
	for _, serial := range []string{"AF-B", "AF-A", "AF-C"} {
		if err := s.PutActivation(ctx, engine.InstalledActivation{Serial: serial, File: "file " + serial, InstalledAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutActivation(ctx, engine.InstalledActivation{}); err == nil {
		t.Fatal("empty serial stored")
	}
	if err := s.UninstallActivation(ctx, engine.BannedSerial{Serial: "AF-B", At: at, Receipt: "receipt"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteActivation(ctx, "AF-C"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, engine.StoreLimits{})
	as, err := s.Activations(ctx)
	if err != nil || len(as) != 1 || as[0].Serial != "AF-A" || as[0].File != "file AF-A" || !as[0].InstalledAt.Equal(at) {
		t.Fatalf("after reopen: %+v %v", as, err)
	}
	if _, found, err := s.Activation(ctx, "AF-B"); found || err != nil {
		t.Fatalf("uninstalled file still there: %v", err)
	}
	b, found, err := s.Banned(ctx, "AF-B")
	if !found || err != nil || b.Receipt != "receipt" {
		t.Fatalf("ban: %+v %v %v", b, found, err)
	}
	if _, found, _ := s.Banned(ctx, "AF-C"); found {
		t.Fatal("a deleted serial is banned")
	}
	bs, err := s.BannedSerials(ctx)
	if err != nil || len(bs) != 1 {
		t.Fatalf("bans: %+v %v", bs, err)
	}
	// Clearing the license keeps both.
	if err := s.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
		*r = engine.Record{SchemaVersion: engine.SchemaVersion}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if as, _ := s.Activations(ctx); len(as) != 1 {
		t.Fatal("clear removed an installed file")
	}
}
