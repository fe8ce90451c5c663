package engine

import (
	"context"
	"fmt"
	"time"
)

// FeatureStore keeps what feature licensing needs durably (docs/features.md):
// the pre-authorization start of each product, whether a temporary or formal
// grant ever existed on the installation, and the grants of installed
// sources (activation files). Clearing the license touches none of it. The
// in-memory store and the Badger store implement it and pass the
// storetest.RunFeatures suite. Every write is durable before it returns.
type FeatureStore interface {
	// Preauth returns the pre-authorization state of product: its start
	// (zero when it never started) and the installation-wide supersession.
	Preauth(ctx context.Context, product string) (PreauthState, error)
	// StartPreauth records at as product's pre-authorization start unless a
	// start is already recorded, and returns the state stored. A later call
	// never moves the start.
	StartPreauth(ctx context.Context, product string, at time.Time) (PreauthState, error)
	// SupersedePreauth records that a temporary or formal grant from source
	// by was seen at at. The first record stays; later calls change nothing.
	SupersedePreauth(ctx context.Context, at time.Time, by string) error
	// PutGrants replaces every grant of source with grants in one durable
	// transaction. A temporary or formal grant among them supersedes
	// pre-authorization in the same transaction (at: when). It returns
	// ErrInvalidRequest, storing nothing, when ValidateGrants refuses them.
	PutGrants(ctx context.Context, source string, grants []Grant, at time.Time) error
	// DeleteGrants removes every grant of source; none stored is not an
	// error. A supersession stays.
	DeleteGrants(ctx context.Context, source string) error
	// Grants returns every stored grant, by source, each source's grants in
	// the order put; an empty (non-nil) slice when none.
	Grants(ctx context.Context) ([]Grant, error)
	// GrantsGeneration is what Store.RecordGeneration is for the record,
	// for the grants: it changes with every PutGrants and DeleteGrants —
	// after the write commits, before the call returns — and with no read
	// (docs/engine.md, "The record in memory").
	GrantsGeneration(ctx context.Context) (uint64, error)
}

// Bounds of stored grants.
const (
	MaxGrantSourceBytes = 128
	MaxGrantsPerSource  = 1024
	MaxProductNameBytes = 256
)

// ValidateGrants checks grants a store is asked to keep for source: source
// is printable ASCII of at most MaxGrantSourceBytes, and is not the
// pre-authorization (whose grants come from PreauthState only); at most
// MaxGrantsPerSource grants, each with a valid feature name, kind temporary
// or formal, Source equal to source, and NotBefore not after a set ExpiresAt.
func ValidateGrants(source string, grants []Grant) error {
	if source == "" || source == SourcePreauth {
		return fmt.Errorf("%w: grant source %q cannot be stored", ErrInvalidRequest, source)
	}
	if err := validateToken("grant source", source, MaxGrantSourceBytes); err != nil {
		return err
	}
	if len(grants) > MaxGrantsPerSource {
		return fmt.Errorf("%w: %d grants for one source, at most %d", ErrInvalidRequest, len(grants), MaxGrantsPerSource)
	}
	for i, g := range grants {
		switch {
		case !ValidFeatureName(g.Feature):
			return fmt.Errorf("%w: grant %d: feature %q is not 1-64 characters of [a-z0-9._-]", ErrInvalidRequest, i, g.Feature)
		case g.Kind != KindTemporary && g.Kind != KindFormal:
			return fmt.Errorf("%w: grant %d: kind %q, want temporary or formal", ErrInvalidRequest, i, g.Kind)
		case g.Source != source:
			return fmt.Errorf("%w: grant %d: source %q differs from %q", ErrInvalidRequest, i, g.Source, source)
		case !g.ExpiresAt.IsZero() && g.NotBefore.After(g.ExpiresAt):
			return fmt.Errorf("%w: grant %d: notBefore is after expiresAt", ErrInvalidRequest, i)
		}
	}
	return nil
}

// ValidateProductName checks a product name used as a pre-authorization key.
func ValidateProductName(product string) error {
	if len(product) > MaxProductNameBytes {
		return fmt.Errorf("%w: product name longer than %d bytes", ErrInvalidRequest, MaxProductNameBytes)
	}
	return nil
}
