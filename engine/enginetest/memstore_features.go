package enginetest

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/licensehost/licensehost/engine"
)

var _ engine.FeatureStore = (*MemStore)(nil)

// memFeatures is the feature licensing state of a MemStore.
type memFeatures struct {
	preauth      map[string]time.Time // product → pre-authorization start
	supersededAt time.Time
	supersededBy string
	grants       map[string][]engine.Grant // source → grants
	gen          uint64                    // grants' write generation
}

func (s *MemStore) preauthLocked(product string) engine.PreauthState {
	return engine.PreauthState{StartedAt: s.feat.preauth[product], SupersededAt: s.feat.supersededAt, SupersededBy: s.feat.supersededBy}
}

// Preauth implements engine.FeatureStore.
func (s *MemStore) Preauth(ctx context.Context, product string) (engine.PreauthState, error) {
	if err := engine.ValidateProductName(product); err != nil {
		return engine.PreauthState{}, err
	}
	if err := s.begin(ctx, "Preauth"); err != nil {
		return engine.PreauthState{}, err
	}
	defer s.mu.Unlock()
	return s.preauthLocked(product), nil
}

// StartPreauth implements engine.FeatureStore.
func (s *MemStore) StartPreauth(ctx context.Context, product string, at time.Time) (engine.PreauthState, error) {
	if err := engine.ValidateProductName(product); err != nil {
		return engine.PreauthState{}, err
	}
	if err := s.begin(ctx, "StartPreauth"); err != nil {
		return engine.PreauthState{}, err
	}
	defer s.mu.Unlock()
	if s.feat.preauth == nil {
		s.feat.preauth = map[string]time.Time{}
	}
	if _, ok := s.feat.preauth[product]; !ok {
		s.feat.preauth[product] = at.UTC()
	}
	return s.preauthLocked(product), nil
}

// SupersedePreauth implements engine.FeatureStore.
func (s *MemStore) SupersedePreauth(ctx context.Context, at time.Time, by string) error {
	if err := s.begin(ctx, "SupersedePreauth"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.supersedeLocked(at, by)
	return nil
}

func (s *MemStore) supersedeLocked(at time.Time, by string) {
	if s.feat.supersededAt.IsZero() {
		s.feat.supersededAt, s.feat.supersededBy = at.UTC(), by
	}
}

// PutGrants implements engine.FeatureStore.
func (s *MemStore) PutGrants(ctx context.Context, source string, grants []engine.Grant, at time.Time) error {
	if err := engine.ValidateGrants(source, grants); err != nil {
		return err
	}
	if err := s.begin(ctx, "PutGrants"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if s.feat.grants == nil {
		s.feat.grants = map[string][]engine.Grant{}
	}
	s.feat.grants[source] = slices.Clone(grants)
	s.feat.gen++
	if _, ok := engine.Supersedes(grants); ok {
		s.supersedeLocked(at, source)
	}
	return nil
}

// DeleteGrants implements engine.FeatureStore.
func (s *MemStore) DeleteGrants(ctx context.Context, source string) error {
	if err := s.begin(ctx, "DeleteGrants"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	delete(s.feat.grants, source)
	s.feat.gen++
	return nil
}

// GrantsGeneration implements engine.FeatureStore.
func (s *MemStore) GrantsGeneration(ctx context.Context) (uint64, error) {
	if err := s.begin(ctx, "GrantsGeneration"); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	return s.feat.gen, nil
}

// Grants implements engine.FeatureStore.
func (s *MemStore) Grants(ctx context.Context) ([]engine.Grant, error) {
	if err := s.begin(ctx, "Grants"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	sources := make([]string, 0, len(s.feat.grants))
	for src := range s.feat.grants {
		sources = append(sources, src)
	}
	sort.Strings(sources)
	out := []engine.Grant{}
	for _, src := range sources {
		out = append(out, s.feat.grants[src]...)
	}
	return out, nil
}
