package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestWriteGroupsAndSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			errs <- s.Write(func(tx *Tx) error {
				if err := tx.PutLicense(License{Key: fmt.Sprintf("k%02d", i), Status: StatusActive}); err != nil {
					return err
				}
				return tx.Audit(AuditEntry{At: time.Now(), Action: "test", Key: fmt.Sprintf("k%02d", i), Client: true})
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// A failing write does not fail the others in its group.
	bad := errors.New("bad write")
	if err := s.Write(func(tx *Tx) error { return bad }); !errors.Is(err, bad) {
		t.Fatalf("failing write: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(func(tx *Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	var log []AuditEntry
	err = s.View(func(tx *Tx) error {
		if err := tx.Licenses(func(License) bool { n++; return true }); err != nil {
			return err
		}
		log, err = tx.AuditLog(100, "")
		return err
	})
	if err != nil || n != 50 || len(log) != 50 {
		t.Fatalf("after reopen: %d licenses, %d audit entries, %v", n, len(log), err)
	}
	seen := map[uint64]bool{}
	for _, e := range log {
		if seen[e.Seq] {
			t.Fatalf("duplicate seq %d", e.Seq)
		}
		seen[e.Seq] = true
	}
	if err := s.Update(func(tx *Tx) error { return tx.Audit(AuditEntry{Action: "after"}) }); err != nil {
		t.Fatal(err)
	}
	s.View(func(tx *Tx) error { log, err = tx.AuditLog(1, ""); return err })
	if log[0].Action != "after" || log[0].Seq <= 50 {
		t.Fatalf("sequence after reopen: %+v", log[0])
	}
}

func TestLockedAndNotFound(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	s.View(func(tx *Tx) error {
		if _, err := tx.License("nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("License: %v", err)
		}
		if _, err := tx.Type("nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Type: %v", err)
		}
		return nil
	})
	err = s.Update(func(tx *Tx) error {
		if err := tx.CreateType(LicenseType{Name: "a"}); err != nil {
			return err
		}
		return tx.CreateType(LicenseType{Name: "a"})
	})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate type: %v", err)
	}
}
