package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/licensehost/licensehost/engine"
)

// Feature licensing keys (docs/features.md), beside the layout in store.go:
//
//	f/pre/<product>   pre-authorization start of a product: JSON {"startedAt"}
//	f/superseded      when a temporary or formal grant was first seen: JSON {"at","by"}
//	g/<source>        the grants of one source: JSON array of engine.Grant
//
// None of them is touched by the record's Update, so clearing the license
// keeps them; only wiping the data directory starts pre-authorization again.

var _ engine.FeatureStore = (*Store)(nil)

var (
	prefPreauth   = []byte("f/pre/")
	keySuperseded = []byte("f/superseded")
	prefGrants    = []byte("g/")
)

type storedPreauth struct {
	StartedAt time.Time `json:"startedAt"`
}

type storedSupersession struct {
	At time.Time `json:"at"`
	By string    `json:"by"`
}

func preauthKey(product string) []byte { return append(bytes.Clone(prefPreauth), product...) }

func grantsKey(source string) []byte { return append(bytes.Clone(prefGrants), source...) }

// getJSON decodes key into v; found is false when the key is missing.
func getJSON(txn *badger.Txn, key []byte, v any) (found bool, err error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	err = item.Value(func(b []byte) error { return json.Unmarshal(b, v) })
	if err != nil {
		return false, fmt.Errorf("storage: decode %q: %w", key, err)
	}
	return true, nil
}

func setJSON(txn *badger.Txn, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("storage: encode %q: %w", key, err)
	}
	return txn.Set(key, raw)
}

func readPreauth(txn *badger.Txn, product string) (engine.PreauthState, error) {
	var st engine.PreauthState
	var p storedPreauth
	if _, err := getJSON(txn, preauthKey(product), &p); err != nil {
		return st, err
	}
	var sup storedSupersession
	if _, err := getJSON(txn, keySuperseded, &sup); err != nil {
		return st, err
	}
	st.StartedAt, st.SupersededAt, st.SupersededBy = p.StartedAt, sup.At, sup.By
	return st, nil
}

// supersede records the first supersession in txn.
func supersede(txn *badger.Txn, at time.Time, by string) error {
	var sup storedSupersession
	found, err := getJSON(txn, keySuperseded, &sup)
	if err != nil || found {
		return err
	}
	return setJSON(txn, keySuperseded, storedSupersession{At: at.UTC(), By: by})
}

// Preauth implements engine.FeatureStore.
func (s *Store) Preauth(ctx context.Context, product string) (engine.PreauthState, error) {
	if err := engine.ValidateProductName(product); err != nil {
		return engine.PreauthState{}, err
	}
	var st engine.PreauthState
	err := s.view(ctx, "Preauth", func(txn *badger.Txn) error {
		var err error
		st, err = readPreauth(txn, product)
		return err
	})
	return st, err
}

// StartPreauth implements engine.FeatureStore.
func (s *Store) StartPreauth(ctx context.Context, product string, at time.Time) (engine.PreauthState, error) {
	if err := engine.ValidateProductName(product); err != nil {
		return engine.PreauthState{}, err
	}
	var st engine.PreauthState
	err := s.change(ctx, "StartPreauth", func(txn *badger.Txn) error {
		var p storedPreauth
		found, err := getJSON(txn, preauthKey(product), &p)
		if err != nil {
			return err
		}
		if !found {
			if err := setJSON(txn, preauthKey(product), storedPreauth{StartedAt: at.UTC()}); err != nil {
				return err
			}
		}
		st, err = readPreauth(txn, product)
		if !found {
			st.StartedAt = at.UTC()
		}
		return err
	})
	return st, err
}

// SupersedePreauth implements engine.FeatureStore.
func (s *Store) SupersedePreauth(ctx context.Context, at time.Time, by string) error {
	return s.change(ctx, "SupersedePreauth", func(txn *badger.Txn) error { return supersede(txn, at, by) })
}

// PutGrants implements engine.FeatureStore.
func (s *Store) PutGrants(ctx context.Context, source string, grants []engine.Grant, at time.Time) error {
	if err := engine.ValidateGrants(source, grants); err != nil {
		return err
	}
	defer s.grantsGen.Add(1) // after the commit (see RecordGeneration)
	return s.change(ctx, "PutGrants", func(txn *badger.Txn) error {
		if len(grants) == 0 {
			return txn.Delete(grantsKey(source))
		}
		if err := setJSON(txn, grantsKey(source), grants); err != nil {
			return err
		}
		if _, ok := engine.Supersedes(grants); ok {
			return supersede(txn, at, source)
		}
		return nil
	})
}

// DeleteGrants implements engine.FeatureStore.
func (s *Store) DeleteGrants(ctx context.Context, source string) error {
	defer s.grantsGen.Add(1)
	return s.change(ctx, "DeleteGrants", func(txn *badger.Txn) error { return txn.Delete(grantsKey(source)) })
}

// GrantsGeneration implements engine.FeatureStore.
func (s *Store) GrantsGeneration(ctx context.Context) (uint64, error) {
	if err := s.enterShut(ctx, "GrantsGeneration"); err != nil {
		return 0, err
	}
	return s.grantsGen.Load(), nil
}

// Grants implements engine.FeatureStore: every stored grant, by source.
func (s *Store) Grants(ctx context.Context) ([]engine.Grant, error) {
	out := []engine.Grant{}
	err := s.view(ctx, "Grants", func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefGrants, PrefetchValues: true, PrefetchSize: 16})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var gs []engine.Grant
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &gs) }); err != nil {
				return fmt.Errorf("storage: decode grants %q: %w", it.Item().Key(), err)
			}
			out = append(out, gs...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
