package storage

import (
	"context"

	"github.com/dgraph-io/badger/v4"
)

// The activation and feature calls of the store (activations.go,
// features.go) are each one transaction inside enter: refused once the
// store is closed or ctx is done, and Close waits for them.

// view runs fn in a read transaction as the store call op.
func (s *Store) view(ctx context.Context, op string, fn func(*badger.Txn) error) error {
	if err := s.enter(ctx, op); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	return s.db.View(fn)
}

// change runs fn in a read-write transaction as the store call op,
// retried on a conflict (update).
func (s *Store) change(ctx context.Context, op string, fn func(*badger.Txn) error) error {
	if err := s.enter(ctx, op); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	return s.update(ctx, fn)
}

// getOne reads the JSON value at key as the store call op; found is false
// when the key is missing.
func getOne[T any](ctx context.Context, s *Store, op string, key []byte) (T, bool, error) {
	var v T
	var found bool
	err := s.view(ctx, op, func(txn *badger.Txn) error {
		var err error
		found, err = getJSON(txn, key, &v)
		return err
	})
	return v, found, err
}
