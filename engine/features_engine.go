package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Events of feature licensing.
const (
	EventPreauthStarted    EventKind = "preauth_started"
	EventPreauthSuperseded EventKind = "preauth_superseded"
)

// featureSetup checks the feature options of New: a product needs a
// FeatureStore, taken from Store when it implements one.
func featureSetup(o *Options) error {
	if o.Features == nil {
		if fs, ok := o.Store.(FeatureStore); ok {
			o.Features = fs
		}
	}
	if o.Product.Configured() && o.Features == nil {
		return errors.New("engine: a product needs a FeatureStore (the Store does not implement one)")
	}
	if err := ValidateProductName(o.Product.Name); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return nil
}

// Product returns the product the engine licenses features of; the zero
// Product when no product file was given.
func (e *Engine) Product() Product { return e.product }

// StartFeatures starts the product's pre-authorization unless it already
// started (the daemon calls it at every start; only the first one counts),
// and records a supersession the online license implies. Without a product
// it does nothing.
func (e *Engine) StartFeatures(ctx context.Context) error {
	if !e.product.Configured() {
		return nil
	}
	_, err := e.Features(ctx)
	return err
}

// Features evaluates every known feature now (docs/features.md). It reads
// the store and writes only the first time: the pre-authorization start, and
// the supersession once a temporary or formal grant is seen.
func (e *Engine) Features(ctx context.Context) (FeatureEvaluation, error) {
	now := e.now()
	rec, err := e.load(ctx)
	if err != nil {
		return FeatureEvaluation{}, err
	}
	return e.features(ctx, rec, e.evaluate(rec, now), now)
}

// CheckFeature answers whether name may be used now. A name that is not
// 1–64 characters of [a-z0-9._-] returns ErrInvalidRequest; a well-formed
// name nobody knows comes back not enabled with FeatureUnknown.
func (e *Engine) CheckFeature(ctx context.Context, name string) (FeatureStatus, error) {
	if !ValidFeatureName(name) {
		return FeatureStatus{}, fmt.Errorf("%w: feature name must be 1-%d characters of [a-z0-9._-]", ErrInvalidRequest, MaxFeatureNameBytes)
	}
	now := e.now()
	rec, err := e.load(ctx)
	if err != nil {
		return FeatureStatus{}, err
	}
	in, err := e.featureInput(ctx, rec, e.evaluate(rec, now), now)
	if err != nil {
		return FeatureStatus{}, err
	}
	return EvaluateFeature(in, name), nil
}

// features evaluates with the record and evaluation the caller already has.
func (e *Engine) features(ctx context.Context, rec Record, ev Evaluation, now time.Time) (FeatureEvaluation, error) {
	in, err := e.featureInput(ctx, rec, ev, now)
	if err != nil {
		return FeatureEvaluation{}, err
	}
	return EvaluateFeatures(in), nil
}

// featureInput gathers the grants of every source and the pre-authorization
// state. It writes only the first time: the pre-authorization start, and the
// supersession once a temporary or formal grant is seen.
func (e *Engine) featureInput(ctx context.Context, rec Record, ev Evaluation, now time.Time) (FeatureInput, error) {
	in := FeatureInput{Product: e.product, Now: now, HighWater: e.highWater(rec)}
	if e.featStore == nil {
		return in, nil
	}
	grants, err := e.storedGrants(ctx)
	if err != nil {
		return in, err
	}
	in.Grants = append(grants, OnlineGrants(e.product, rec.LastLicenseTypeName, ev, rec.ExpiresAt)...)
	if in.Preauth, err = e.preauthState(ctx, ev.Now); err != nil {
		return in, err
	}
	if g, ok := Supersedes(in.Grants); ok && !in.Preauth.Superseded() {
		if err := e.supersede(ctx, ev.Now, g.Source); err != nil {
			return in, err
		}
		if in.Preauth, err = e.featStore.Preauth(ctx, e.product.Name); err != nil {
			return in, err
		}
		e.cachePreauth(in.Preauth)
	}
	return in, nil
}

// preauthState returns the product's pre-authorization state, starting it
// when it never started. Once read it is kept in memory: a start never
// moves, and a supersession is only ever written through this engine
// (supersede, InstallGrants), which refreshes the copy. (Badger locks the
// data directory, so no other process writes.)
func (e *Engine) preauthState(ctx context.Context, now time.Time) (PreauthState, error) {
	e.preMu.Lock()
	cached, ok := e.preCache, e.preCached
	e.preMu.Unlock()
	if ok {
		return cached, nil
	}
	pre, err := e.featStore.Preauth(ctx, e.product.Name)
	if err != nil {
		return pre, err
	}
	if pre.StartedAt.IsZero() && e.product.Configured() {
		if pre, err = e.startPreauth(ctx, now); err != nil {
			return pre, err
		}
	}
	e.cachePreauth(pre)
	return pre, nil
}

func (e *Engine) forgetPreauth() {
	e.preMu.Lock()
	e.preCached = false
	e.preMu.Unlock()
}

func (e *Engine) cachePreauth(pre PreauthState) {
	if pre.StartedAt.IsZero() && e.product.Configured() {
		return // not started yet: the next read starts it
	}
	e.preMu.Lock()
	e.preCache, e.preCached = pre, true
	e.preMu.Unlock()
}

// startPreauth and supersede write under featMu and re-read first, so
// concurrent first requests write and log each event once.
func (e *Engine) startPreauth(ctx context.Context, at time.Time) (PreauthState, error) {
	e.featMu.Lock()
	defer e.featMu.Unlock()
	pre, err := e.featStore.Preauth(ctx, e.product.Name)
	if err != nil || !pre.StartedAt.IsZero() {
		return pre, err
	}
	if pre, err = e.featStore.StartPreauth(ctx, e.product.Name, at); err != nil {
		return pre, err
	}
	if e.product.Preauth > 0 {
		msg := fmt.Sprintf("pre-authorization of %q started: %d features for %s", e.product.Name, len(e.product.PreauthFeatures), e.product.Preauth)
		e.log.Info(msg)
		if err := e.store.AppendEvent(ctx, Event{At: at, Kind: EventPreauthStarted, Message: msg}); err != nil {
			e.log.Warn("could not record the pre-authorization start", "err", err)
		}
	}
	return pre, nil
}

func (e *Engine) supersede(ctx context.Context, at time.Time, by string) error {
	e.featMu.Lock()
	defer e.featMu.Unlock()
	pre, err := e.featStore.Preauth(ctx, e.product.Name)
	if err != nil || pre.Superseded() {
		return err
	}
	if err := e.featStore.SupersedePreauth(ctx, at, by); err != nil {
		return err
	}
	if e.product.Preauth > 0 {
		msg := fmt.Sprintf("pre-authorization superseded for good by a %s license", by)
		e.log.Info(msg)
		if err := e.store.AppendEvent(ctx, Event{At: at, Kind: EventPreauthSuperseded, Message: msg}); err != nil {
			e.log.Warn("could not record the pre-authorization supersession", "err", err)
		}
	}
	return nil
}

// noteFeatures runs after a successful remote operation: an online license
// that grants features supersedes pre-authorization at once, so a clear
// right after cannot bring it back.
func (e *Engine) noteFeatures(ctx context.Context, rec Record, ev Evaluation, now time.Time) {
	if e.featStore == nil || !e.product.Configured() {
		return
	}
	if _, err := e.features(ctx, rec, ev, now); err != nil {
		e.log.Warn("could not update the feature licensing state; the next status read retries", "err", err)
	}
}

// InstallGrants stores the grants of one source (an installed activation
// file: "activation:<serial>") in place of any it had; a temporary or formal
// grant supersedes pre-authorization in the same durable write.
func (e *Engine) InstallGrants(ctx context.Context, source string, grants []Grant) error {
	if e.featStore == nil {
		return errors.New("engine: no FeatureStore")
	}
	now := e.now()
	rec, err := e.load(ctx)
	if err != nil {
		return err
	}
	at := EffectiveNow(now, e.highWater(rec))
	e.featMu.Lock()
	defer e.featMu.Unlock()
	pre, err := e.featStore.Preauth(ctx, e.product.Name)
	if err != nil {
		return err
	}
	if err := e.featStore.PutGrants(ctx, source, grants, at); err != nil {
		return err
	}
	e.forgetPreauth() // the next read sees the supersession PutGrants wrote
	if _, ok := Supersedes(grants); ok && !pre.Superseded() && e.product.Preauth > 0 {
		msg := fmt.Sprintf("pre-authorization superseded for good by a %s license", source)
		if err := e.store.AppendEvent(ctx, Event{At: at, Kind: EventPreauthSuperseded, Message: msg}); err != nil {
			e.log.Warn("could not record the pre-authorization supersession", "err", err)
		}
	}
	return nil
}

// RemoveGrants deletes the grants of one source. Pre-authorization stays
// superseded.
func (e *Engine) RemoveGrants(ctx context.Context, source string) error {
	if e.featStore == nil {
		return errors.New("engine: no FeatureStore")
	}
	return e.featStore.DeleteGrants(ctx, source)
}

// enabledFeatures is the policy input's Features: the enabled features,
// sorted; nil when there is nothing to license.
func (e *Engine) enabledFeatures(ctx context.Context, rec Record, ev Evaluation, now time.Time) ([]string, error) {
	if _, builtin := e.policy.(Builtin); builtin || e.featStore == nil {
		return nil, nil // the builtin policy never reads them
	}
	fe, err := e.features(ctx, rec, ev, now)
	if err != nil {
		return nil, err
	}
	return fe.Enabled(), nil
}
