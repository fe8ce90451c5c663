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
	return s.change(ctx, "PutActivation", func(txn *badger.Txn) error { return setJSON(txn, activationKey(a.Serial), a) })
}

// scanJSON reads every JSON value under prefix as the store call op.
func scanJSON[T any](ctx context.Context, s *Store, op string, prefix []byte) ([]T, error) {
	out := []T{}
	err := s.view(ctx, op, func(txn *badger.Txn) error {
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
	return scanJSON[engine.InstalledActivation](ctx, s, "Activations", prefActivation)
}

// Activation implements engine.ActivationStore.
func (s *Store) Activation(ctx context.Context, serial string) (engine.InstalledActivation, bool, error) {
	return getOne[engine.InstalledActivation](ctx, s, "Activation", activationKey(serial))
}

// UninstallActivation implements engine.ActivationStore.
func (s *Store) UninstallActivation(ctx context.Context, b engine.BannedSerial) error {
	if b.Serial == "" {
		return fmt.Errorf("%w: empty serial", engine.ErrInvalidRequest)
	}
	return s.change(ctx, "UninstallActivation", func(txn *badger.Txn) error {
		if err := setJSON(txn, bannedKey(b.Serial), b); err != nil {
			return err
		}
		return txn.Delete(activationKey(b.Serial))
	})
}

// DeleteActivation implements engine.ActivationStore.
func (s *Store) DeleteActivation(ctx context.Context, serial string) error {
	return s.change(ctx, "DeleteActivation", func(txn *badger.Txn) error { return txn.Delete(activationKey(serial)) })
}

// Banned implements engine.ActivationStore.
func (s *Store) Banned(ctx context.Context, serial string) (engine.BannedSerial, bool, error) {
	return getOne[engine.BannedSerial](ctx, s, "Banned", bannedKey(serial))
}

// BannedSerials implements engine.ActivationStore.
func (s *Store) BannedSerials(ctx context.Context) ([]engine.BannedSerial, error) {
	return scanJSON[engine.BannedSerial](ctx, s, "BannedSerials", prefBanned)
}
