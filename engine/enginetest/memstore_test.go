package enginetest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/engine/storetest"
)

func TestMemStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, l engine.StoreLimits) engine.Store {
		return enginetest.NewMemStoreLimits(l)
	})
}

func TestMemStoreFail(t *testing.T) {
	s := enginetest.NewMemStore()
	disk := errors.New("disk full")
	s.Fail = func(op string) error {
		if op == "Update" {
			return disk
		}
		return nil
	}
	err := s.Update(context.Background(), func(*engine.Record) ([]engine.Event, error) { return nil, nil })
	if !errors.Is(err, disk) {
		t.Fatalf("Update err = %v, want the injected error", err)
	}
	if _, err := s.Load(context.Background()); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("Load err = %v, want ErrNotFound", err)
	}
}

func TestMemStoreFeatures(t *testing.T) {
	storetest.RunFeatures(t, func(t *testing.T) storetest.FeatureStore { return enginetest.NewMemStore() })
}
