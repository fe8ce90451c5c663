package engine

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
)

// The loaded record (docs/engine.md, "The record in memory"). Every status,
// quota and feature answer starts from the record; decoding it and checking
// its seal and proofs on every request cost more than the rest of a quota
// check. The engine keeps the last record it loaded, with the verdict of
// that check, tagged with the store's record generation read before the
// load (Store.RecordGeneration): the generation moves after every committed
// write of the record, by this engine, another engine over the same store,
// or anything else writing through it, so a kept record is used only while
// no write has replaced it. A store is the only writer of its record while
// it is open (Badger locks the directory), and each start decodes and
// verifies afresh: a record edited while the host was down is checked like
// before.

// The stored grants (the features of activation files) are kept the same
// way, tagged with the feature store's grants generation
// (FeatureStore.GrantsGeneration): a policy's input carries the enabled
// features, and reading the grants back from Badger at every quota check
// cost an iterator and a JSON decode per source.

// loadedRecord is a record as load returns it, with what it was read at.
type loadedRecord struct {
	gen    uint64 // the store's record generation read before the load
	legacy bool   // sealLegacy when the verdict was reached
	rec    Record // Tampered holds the verdict of integrity
}

// load returns the record, or a zero record when none exists, with
// rec.Tampered set to why it disagrees with its seal or proofs ("" when it
// agrees). The caller owns the returned record.
func (e *Engine) load(ctx context.Context) (Record, error) {
	gen, err := e.store.RecordGeneration(ctx)
	if err != nil {
		return Record{}, err
	}
	legacy := e.sealLegacy.Load()
	if l := e.loaded.Load(); l != nil && l.gen == gen && l.legacy == legacy {
		return l.rec.clone(), nil
	}
	rec, err := e.store.Load(ctx)
	switch {
	case errors.Is(err, ErrNotFound):
		rec = Record{SchemaVersion: SchemaVersion}
	case err != nil:
		return rec, err
	default:
		rec.Tampered = e.integrity(rec)
	}
	// Read after gen, rec is at least as new as the write gen followed; a
	// write that commits meanwhile moves the generation past gen, so this
	// copy is never used after it.
	e.loaded.Store(&loadedRecord{gen: gen, legacy: legacy, rec: rec.clone()})
	return rec, nil
}

// clone returns a copy of r that shares no memory with it.
func (r Record) clone() Record {
	c := r
	c.LimitTotal, c.LimitBatch = cloneInt64(r.LimitTotal), cloneInt64(r.LimitBatch)
	c.License = bytes.Clone(r.License)
	c.Signals = maps.Clone(r.Signals)
	c.LicenseProof, c.VerifyProof = r.LicenseProof.clone(), r.VerifyProof.clone()
	return c
}

func (p *Proof) clone() *Proof {
	if p == nil {
		return nil
	}
	c := *p
	c.Body = bytes.Clone(p.Body)
	return &c
}

func cloneInt64(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// loadedGrants are the stored grants with the generation read before them.
type loadedGrants struct {
	gen    uint64
	grants []Grant
}

// storedGrants returns every stored grant; the caller owns the slice.
func (e *Engine) storedGrants(ctx context.Context) ([]Grant, error) {
	gen, err := e.featStore.GrantsGeneration(ctx)
	if err != nil {
		return nil, err
	}
	if l := e.grants.Load(); l != nil && l.gen == gen {
		return slices.Clone(l.grants), nil // Grant holds no references
	}
	grants, err := e.featStore.Grants(ctx)
	if err != nil {
		return nil, err
	}
	e.grants.Store(&loadedGrants{gen: gen, grants: slices.Clone(grants)})
	return grants, nil
}
