package server

import (
	"net/http"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
)

// PolicyLister is what a PolicyInfo may also offer: the routing rules in
// force and the decision counters (GET /api/policy, shown by the web page).
type PolicyLister interface {
	PolicyRoutes() ([]api.PolicyRoute, []api.PolicyStats)
}

// policyList is GET /api/policy. Without a policy directory the builtin
// policy decides for every license type.
func (s *Server) policyList(w http.ResponseWriter, _ *http.Request) error {
	out := api.Policies{Routes: []api.PolicyRoute{}, Stats: []api.PolicyStats{}}
	if s.opt.Policies != nil {
		out.Configured = true
		if l, ok := s.opt.Policies.(PolicyLister); ok {
			routes, stats := l.PolicyRoutes()
			out.Routes = append(out.Routes, routes...)
			out.Stats = append(out.Stats, stats...)
		}
	}
	if len(out.Routes) == 0 {
		out.Routes = append(out.Routes, api.PolicyRoute{Match: "default", Policy: engine.BuiltinPolicyName})
	}
	for i := range out.Stats {
		if out.Stats[i].Fallbacks == nil {
			out.Stats[i].Fallbacks = map[string]uint64{}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
