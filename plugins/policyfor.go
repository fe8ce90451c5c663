package plugins

import "github.com/licensehost/licensehost/engine"

// PolicyFor names the policy that decides for licenseType ("" is the
// community edition), e.g. "wasm:tiered" or "builtin".
func (s *Set) PolicyFor(licenseType string) string { return s.route(licenseType).label }

// PolicyFor names the policy that currently decides for licenseType.
func (r *Registry) PolicyFor(licenseType string) string {
	h := r.acquire()
	if h == nil {
		return engine.BuiltinPolicyName
	}
	defer h.release()
	return h.set.PolicyFor(licenseType)
}
