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
