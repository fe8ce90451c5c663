package storage

import (
	"testing"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/engine/storetest"
)

func TestFeaturesConformance(t *testing.T) {
	storetest.RunFeatures(t, func(t *testing.T) storetest.FeatureStore {
		return openT(t, t.TempDir(), engine.StoreLimits{})
	})
}

func TestFeaturesPersistent(t *testing.T) {
	storetest.RunFeaturesPersistent(t, func(t *testing.T, dir string) storetest.FeatureStore {
		return openT(t, dir, engine.StoreLimits{})
	})
}
