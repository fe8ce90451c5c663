package api

import (
	"time"

	"github.com/licensehost/licensehost/engine"
)

// Routes of feature licensing (docs/features.md).
const (
	PathFeatures     = "/api/features"
	PathFeatureCheck = "/api/features/check"
)

// Feature is one known feature's status, in GET /api/features and in the
// status's features list.
type Feature struct {
	Name    string `json:"name"`
	Title   string `json:"title"`
	Enabled bool   `json:"enabled"`
	// Kind is preauth, temporary or formal: the grant that covers the
	// feature, or the one that lapsed (reason expired or preauth_over);
	// "" when none.
	Kind string `json:"kind" openapi:"enum=|preauth|temporary|formal"`
	// Source is preauth, online or activation:<serial>; "" when none.
	Source string `json:"source"`
	// ExpiresAt is the grant's expiry; null when it never expires or no
	// grant is named.
	ExpiresAt *time.Time `json:"expiresAt"`
	// DaysLeft is the fractional days until ExpiresAt while enabled; null
	// when it never expires or the feature is not enabled.
	DaysLeft *float64 `json:"daysLeft"`
	// Reason is "" when enabled, else not_licensed, expired, preauth_over
	// or unknown_feature.
	Reason string `json:"reason,omitempty" openapi:"enum=not_licensed|expired|preauth_over|unknown_feature"`
}

// Preauth is the pre-authorization in status and GET /api/features.
type Preauth struct {
	StartedAt  time.Time `json:"startedAt"`
	EndsAt     time.Time `json:"endsAt"`
	DaysLeft   float64   `json:"daysLeft"` // 0 once over or superseded
	Superseded bool      `json:"superseded"`
	Features   []string  `json:"features"`
}

// FeaturesResponse is the body of GET /api/features.
type FeaturesResponse struct {
	Product  string    `json:"product"` // "" without a product file
	Features []Feature `json:"features"`
	Preauth  *Preauth  `json:"preauth"` // null when the product has none
}

// FeatureCheckRequest is the body of POST /api/features/check.
type FeatureCheckRequest struct {
	Feature string `json:"feature" openapi:"pattern=^[a-z0-9._-]{1,64}$"`
}

// FeatureCheckResponse answers POST /api/features/check: 200 with
// allowed:true, or 403 with allowed:false and a reason.
type FeatureCheckResponse struct {
	Allowed   bool       `json:"allowed"`
	Feature   string     `json:"feature"`
	Kind      string     `json:"kind,omitempty" openapi:"enum=|preauth|temporary|formal"`
	Source    string     `json:"source,omitempty"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	DaysLeft  *float64   `json:"daysLeft,omitempty"`
	Reason    string     `json:"reason,omitempty" openapi:"enum=not_licensed|expired|preauth_over|unknown_feature"` // when refused
	Message   string     `json:"message,omitempty"`                                                                 // a sentence for people, when refused
}

// Feature refusal reasons: the engine's (docs/features.md).
const (
	FeatureNotLicensed = engine.FeatureNotLicensed
	FeatureExpired     = engine.FeatureExpired
	FeaturePreauthOver = engine.FeaturePreauthOver
	FeatureUnknown     = engine.FeatureUnknown
)
