package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"

	"github.com/licensehost/licensehost/engine"
)

// Backup writes a consistent snapshot of the whole store — record,
// counters, events, feature state, installed activation files, bans — to w
// in Badger's backup format, while the store stays in use (it reads one
// snapshot at a single read timestamp). See docs/backup.md.
func (s *Store) Backup(ctx context.Context, w io.Writer) error {
	if err := s.enter(ctx, "Backup"); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	if _, err := s.db.Backup(w, 0); err != nil {
		return fmt.Errorf("storage: backup: %w", err)
	}
	return nil
}

// ErrNotEmpty is returned by Restore when the target directory holds files.
var ErrNotEmpty = errors.New("directory is not empty")

// Restore loads a Backup stream into a new store in dir, which must be
// missing or empty (ErrNotEmpty otherwise: a restore never writes over a
// store). The result is opened once, as Open would, before Restore returns.
func Restore(dir string, r io.Reader, opts Options) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("storage: restore: %w", err)
	case len(ents) > 0:
		return fmt.Errorf("storage: restore into %s: %w", dir, ErrNotEmpty)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	if err := restore(dir, r, opts); err != nil {
		// dir was missing or empty: leave nothing half-restored behind.
		if ents, _ := os.ReadDir(dir); len(ents) > 0 {
			for _, e := range ents {
				_ = os.RemoveAll(filepath.Join(dir, e.Name()))
			}
		}
		return err
	}
	return nil
}

func restore(dir string, r io.Reader, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	db, err := openBadger(badgerOptions(dir, log))
	if err != nil {
		return classifyOpenError(dir, err)
	}
	if err := load(db, r); err != nil {
		_ = db.Close()
		return fmt.Errorf("storage: restore: not a licensehost backup: %w: %w", engine.ErrCorrupt, err)
	}
	if err := db.Sync(); err != nil {
		_ = db.Close()
		return fmt.Errorf("storage: restore: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	s, err := Open(dir, opts)
	if err != nil {
		return err
	}
	return s.Close()
}

// load runs Badger's Load, turning its panics on malformed input into an
// error.
func load(db *badger.DB, r io.Reader) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("badger panicked while loading: %v", p)
		}
	}()
	return db.Load(r, 256)
}
