package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
)

// Feature licensing routes (docs/features.md). Both accept the app token.

func featureBody(f engine.FeatureStatus) api.Feature {
	return api.Feature{
		Name: f.Name, Title: f.Title, Enabled: f.Enabled, Kind: string(f.Kind), Source: f.Source,
		ExpiresAt: timePtr(f.ExpiresAt), DaysLeft: f.DaysLeft, Reason: f.Reason,
	}
}

func featureList(fe engine.FeatureEvaluation) []api.Feature {
	out := make([]api.Feature, 0, len(fe.Features))
	for _, f := range fe.Features {
		out = append(out, featureBody(f))
	}
	return out
}

func preauthBody(fe engine.FeatureEvaluation) *api.Preauth {
	p := fe.Preauth
	if p == nil {
		return nil
	}
	feats := p.Features
	if feats == nil {
		feats = []string{}
	}
	return &api.Preauth{StartedAt: p.StartedAt, EndsAt: p.EndsAt, DaysLeft: p.DaysLeft, Superseded: p.Superseded, Features: feats}
}

func (s *Server) features(w http.ResponseWriter, r *http.Request) error {
	fe, err := s.eng.Features(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.FeaturesResponse{Product: s.eng.Product().Name, Features: featureList(fe), Preauth: preauthBody(fe)})
	return nil
}

func (s *Server) featureCheck(w http.ResponseWriter, r *http.Request) error {
	var req api.FeatureCheckRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	f, err := s.eng.CheckFeature(r.Context(), req.Feature)
	if err != nil {
		return err
	}
	body := api.FeatureCheckResponse{Allowed: f.Enabled, Feature: req.Feature, Kind: string(f.Kind), Source: f.Source,
		ExpiresAt: timePtr(f.ExpiresAt), DaysLeft: f.DaysLeft}
	if f.Enabled {
		writeJSON(w, http.StatusOK, body)
		return nil
	}
	body.Reason, body.Message = f.Reason, refusal(f)
	writeJSON(w, http.StatusForbidden, body)
	return nil
}

// refusal words a refused check for people.
func refusal(f engine.FeatureStatus) string {
	at := f.ExpiresAt.UTC().Format(time.RFC3339)
	switch f.Reason {
	case engine.FeatureExpired:
		return fmt.Sprintf("the %s license (%s) covering %s expired at %s", f.Kind, f.Source, f.Name, at)
	case engine.FeaturePreauthOver:
		return fmt.Sprintf("%s was covered only by the pre-authorization, which is over (it ran until %s, or a temporary or formal license superseded it)", f.Name, at)
	case engine.FeatureUnknown:
		return fmt.Sprintf("%s is not a feature of this product", f.Name)
	default:
		return fmt.Sprintf("no license in force covers %s", f.Name)
	}
}

// addFeatureDoc adds the feature routes and schemas to the OpenAPI
// document built by openAPIDoc.
func addFeatureDoc(doc map[string]any) {
	ref := func(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
	resp := func(desc string, schema map[string]any) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": schema}}}
	}
	str := map[string]any{"type": "string"}
	strNull := map[string]any{"type": "string", "nullable": true}
	timeNull := map[string]any{"type": "string", "format": "date-time", "nullable": true}
	numNull := map[string]any{"type": "number", "nullable": true}
	obj := func(props map[string]any, required ...string) map[string]any {
		o := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			o["required"] = required
		}
		return o
	}
	reason := map[string]any{"type": "string", "enum": []any{api.FeatureNotLicensed, api.FeatureExpired, api.FeaturePreauthOver, api.FeatureUnknown}}
	kind := map[string]any{"type": "string", "enum": []any{"", string(engine.KindPreauth), string(engine.KindTemporary), string(engine.KindFormal)}}
	errResp := resp("error", ref("Error"))

	paths := doc["paths"].(map[string]any)
	paths[api.PathFeatures] = map[string]any{"get": map[string]any{
		"summary": "Every known feature with its license status, and the pre-authorization (app token allowed)",
		"responses": map[string]any{
			"200": resp("features", ref("FeaturesResponse")), "401": errResp, "405": errResp,
		},
	}}
	paths[api.PathFeatureCheck] = map[string]any{"post": map[string]any{
		"summary": "May this feature be used for new work now? Run it where the work is created (app token allowed)",
		"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{
			"schema": ref("FeatureCheckRequest")}}},
		"responses": map[string]any{
			"200": resp("allowed", ref("FeatureCheckResponse")),
			"403": resp("refused; reason says why", ref("FeatureCheckResponse")),
			"400": errResp, "401": errResp, "405": errResp,
		},
	}}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	schemas["Feature"] = obj(map[string]any{
		"name": str, "title": str, "enabled": map[string]any{"type": "boolean"}, "kind": kind, "source": str,
		"expiresAt": timeNull, "daysLeft": numNull, "reason": reason,
	}, "name", "title", "enabled", "kind", "source", "expiresAt", "daysLeft")
	schemas["Preauth"] = obj(map[string]any{
		"startedAt": map[string]any{"type": "string", "format": "date-time"}, "endsAt": map[string]any{"type": "string", "format": "date-time"},
		"daysLeft": map[string]any{"type": "number"}, "superseded": map[string]any{"type": "boolean"},
		"features": map[string]any{"type": "array", "items": str},
	}, "startedAt", "endsAt", "daysLeft", "superseded", "features")
	schemas["FeaturesResponse"] = obj(map[string]any{
		"product":  str,
		"features": map[string]any{"type": "array", "items": ref("Feature")},
		"preauth":  map[string]any{"allOf": []any{ref("Preauth")}, "nullable": true},
	}, "product", "features", "preauth")
	schemas["FeatureCheckRequest"] = obj(map[string]any{"feature": map[string]any{"type": "string", "pattern": "^[a-z0-9._-]{1,64}$"}}, "feature")
	schemas["FeatureCheckResponse"] = obj(map[string]any{
		"allowed": map[string]any{"type": "boolean"}, "feature": str, "kind": kind, "source": strNull,
		"expiresAt": timeNull, "daysLeft": numNull, "reason": reason, "message": str,
	}, "allowed", "feature")
	if st, ok := schemas["Status"].(map[string]any); ok {
		if props, ok := st["properties"].(map[string]any); ok {
			props["features"] = map[string]any{"type": "array", "items": ref("Feature")}
			props["preauth"] = ref("Preauth")
		}
	}
}
