package hostclient

import (
	"context"

	"github.com/licensehost/licensehost/api"
)

// Features lists every known feature with its license status and the
// pre-authorization (GET /api/features; the app token may call it).
func (c *Client) Features(ctx context.Context) (*api.FeaturesResponse, error) {
	var fr api.FeaturesResponse
	if err := c.get(ctx, api.PathFeatures, &fr); err != nil {
		return nil, err
	}
	return &fr, nil
}

// CheckFeature asks whether feature may be used for new work now (POST
// /api/features/check; the app token may call it). A refusal (403) is an
// answer, not an error: Allowed is false and Reason says why
// (api.FeatureNotLicensed, FeatureExpired, FeaturePreauthOver,
// FeatureUnknown). A malformed name is an *APIError with status 400.
func (c *Client) CheckFeature(ctx context.Context, feature string) (*api.FeatureCheckResponse, error) {
	return decision[api.FeatureCheckResponse](ctx, c, api.PathFeatureCheck, api.FeatureCheckRequest{Feature: feature})
}
