package enginetest

import (
	"context"
	"errors"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/licapi"
)

var _ engine.RemoteClient = (*Remote)(nil)

// Remote is a hand-written engine.RemoteClient with function fields, for
// injecting faults the loopback contract server cannot produce (a panic, a
// particular error value). Tests of the real client and of the engine's
// flows use internal/remotetest instead.
type Remote struct {
	VerifyFunc func(context.Context, licapi.VerifyRequest) (engine.RemoteResult, error)
	SwitchFunc func(context.Context, licapi.SwitchRequest) (engine.RemoteResult, error)
}

// Verify calls VerifyFunc, or fails when it is nil.
func (r *Remote) Verify(ctx context.Context, req licapi.VerifyRequest) (engine.RemoteResult, error) {
	if r.VerifyFunc == nil {
		return engine.RemoteResult{}, errors.New("enginetest.Remote: VerifyFunc not set")
	}
	return r.VerifyFunc(ctx, req)
}

// SwitchDevice calls SwitchFunc, or fails when it is nil.
func (r *Remote) SwitchDevice(ctx context.Context, req licapi.SwitchRequest) (engine.RemoteResult, error) {
	if r.SwitchFunc == nil {
		return engine.RemoteResult{}, errors.New("enginetest.Remote: SwitchFunc not set")
	}
	return r.SwitchFunc(ctx, req)
}
