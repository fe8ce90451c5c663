package main

import (
	"context"
	"log/slog"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/server"
)

// policyHost owns the quota policy of the daemon: the builtin one, or the
// modules of --policy-dir.
type policyHost struct {
	log *slog.Logger
}

func newPolicyHost(dir, dataDir string, log *slog.Logger, m *server.Metrics) (*policyHost, error) {
	if dir != "" {
		return nil, usagef("--policy-dir=%q: policy modules are not available in this build", dir)
	}
	return &policyHost{log: log}, nil
}

func (p *policyHost) policy() engine.Policy       { return engine.Builtin{} }
func (p *policyHost) info() server.PolicyInfo     { return nil }
func (p *policyHost) describe() string            { return engine.BuiltinPolicyName }
func (p *policyHost) close(context.Context) error { return nil }
