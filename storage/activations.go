package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/licensehost/licensehost/engine"
)

// Activation file keys (docs/activation-files.md), beside the layout in
// store.go and features.go:
//
//	act/<serial>   an installed activation file: JSON engine.InstalledActivation
//	ban/<serial>   an uninstalled serial, never installable again: JSON engine.BannedSerial
//
// Clearing the license touches neither; a ban is only lost with the data
// directory.

var _ engine.ActivationStore = (*Store)(nil)

var (
	prefActivation = []byte("act/")
	prefBanned     = []byte("ban/")
)

func activationKey(serial string) []byte { return append(bytes.Clone(prefActivation), serial...) }
func bannedKey(serial string) []byte     { return append(bytes.Clone(prefBanned), serial...) }

// PutActivation implements engine.ActivationStore.
func (s *Store) PutActivation(ctx context.Context, a engine.InstalledActivation) error {
	if a.Serial == "" {
		return fmt.Errorf("%w: empty serial", engine.ErrInvalidRequest)
	}
	if err := s.enter(ctx, "PutActivation"); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	return s.update(ctx, func(txn *badger.Txn) error { return setJSON(txn, activationKey(a.Serial), a) })
}

func scanJSON[T any](s *Store, prefix []byte) ([]T, error) {
	out := []T{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 16})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var v T
			if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &v) }); err != nil {
				return fmt.Errorf("storage: decode %q: %w", it.Item().Key(), err)
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// Activations implements engine.ActivationStore.
func (s *Store) Activations(ctx context.Context) ([]engine.InstalledActivation, error) {
	if err := s.enter(ctx, "Activations"); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	return scanJSON[engine.InstalledActivation](s, prefActivation)
}

// Activation implements engine.ActivationStore.
func (s *Store) Activation(ctx context.Context, serial string) (engine.InstalledActivation, bool, error) {
	if err := s.enter(ctx, "Activation"); err != nil {
		return engine.InstalledActivation{}, false, err
	}
	defer s.closeMu.RUnlock()
	var a engine.InstalledActivation
	var found bool
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		found, err = getJSON(txn, activationKey(serial), &a)
		return err
	})
	return a, found, err
}

// UninstallActivation implements engine.ActivationStore.
func (s *Store) UninstallActivation(ctx context.Context, b engine.BannedSerial) error {
	if b.Serial == "" {
		return fmt.Errorf("%w: empty serial", engine.ErrInvalidRequest)
	}
	if err := s.enter(ctx, "UninstallActivation"); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	return s.update(ctx, func(txn *badger.Txn) error {
		if err := setJSON(txn, bannedKey(b.Serial), b); err != nil {
			return err
		}
		return txn.Delete(activationKey(b.Serial))
	})
}

// DeleteActivation implements engine.ActivationStore.
func (s *Store) DeleteActivation(ctx context.Context, serial string) error {
	if err := s.enter(ctx, "DeleteActivation"); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	return s.update(ctx, func(txn *badger.Txn) error { return txn.Delete(activationKey(serial)) })
}

// Banned implements engine.ActivationStore.
func (s *Store) Banned(ctx context.Context, serial string) (engine.BannedSerial, bool, error) {
	if err := s.enter(ctx, "Banned"); err != nil {
		return engine.BannedSerial{}, false, err
	}
	defer s.closeMu.RUnlock()
	var b engine.BannedSerial
	var found bool
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		found, err = getJSON(txn, bannedKey(serial), &b)
		return err
	})
	return b, found, err
}

// BannedSerials implements engine.ActivationStore.
func (s *Store) BannedSerials(ctx context.Context) ([]engine.BannedSerial, error) {
	if err := s.enter(ctx, "BannedSerials"); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	return scanJSON[engine.BannedSerial](s, prefBanned)
}
