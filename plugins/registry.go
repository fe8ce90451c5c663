package plugins

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/licensehost/licensehost/engine"
)

// Registry holds the active Set of a policy directory and replaces it on
// Reload. It implements engine.Policy; the host hands it to the engine and
// calls Reload on SIGHUP or from its admin API.
type Registry struct {
	dir    string
	opts   Options
	cur    atomic.Pointer[handle]
	mu     sync.Mutex // serialises Reload and Close
	closed atomic.Bool
}

var _ engine.Policy = (*Registry)(nil)

// handle reference-counts a Set: one reference for being current, one per
// decision in flight. The last release closes the set.
type handle struct {
	set  *Set
	refs atomic.Int64
	done chan struct{} // closed once the set is closed
	err  error         // of closing
}

func newHandle(s *Set) *handle {
	h := &handle{set: s, done: make(chan struct{})}
	h.refs.Store(1)
	return h
}

func (h *handle) acquire() bool {
	for {
		n := h.refs.Load()
		if n <= 0 {
			return false
		}
		if h.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (h *handle) release() {
	if h.refs.Add(-1) == 0 {
		go func() {
			h.err = h.set.Close(context.Background())
			close(h.done)
		}()
	}
}

// NewRegistry loads dir (see Load) and returns a Registry serving it. An
// empty dir serves the built-in policy only.
func NewRegistry(ctx context.Context, dir string, opts Options) (*Registry, error) {
	opts.stats = newStatsTable()
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s, err := Load(ctx, dir, opts)
	if err != nil {
		return nil, err
	}
	r := &Registry{dir: dir, opts: opts}
	r.cur.Store(newHandle(s))
	return r, nil
}

// Decide implements engine.Policy by deciding with the current Set. It
// returns engine.ErrClosed after Close, and no other error.
func (r *Registry) Decide(ctx context.Context, in engine.QuotaInput) (engine.QuotaDecision, error) {
	h := r.acquire()
	if h == nil {
		return engine.QuotaDecision{}, engine.ErrClosed
	}
	defer h.release()
	return h.set.Decide(ctx, in)
}

func (r *Registry) acquire() *handle {
	for {
		h := r.cur.Load()
		if h.acquire() {
			return h
		}
		if r.closed.Load() {
			return nil
		}
		// h was replaced and released between Load and acquire; retry.
	}
}

// Reload loads the policy directory again and, when every module loads,
// makes the new Set current; decisions in flight finish on the old Set,
// which is closed after the last of them (Reload waits for that, or for
// ctx). When anything fails to load, the error says what and the current
// Set stays in force.
func (r *Registry) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return engine.ErrClosed
	}
	s, err := Load(ctx, r.dir, r.opts)
	if err != nil {
		r.opts.Logger.Error("policy reload refused; previous policies stay in force", "dir", r.dir, "error", err)
		return fmt.Errorf("reload refused, previous policies stay in force: %w", err)
	}
	old := r.cur.Swap(newHandle(s))
	old.release()
	r.opts.Logger.Info("policies reloaded", "dir", r.dir, "active", len(s.routes))
	select {
	case <-old.done:
		if old.err != nil {
			r.opts.Logger.Warn("closing the previous policies", "error", old.err)
		}
	case <-ctx.Done():
	}
	return nil
}

// Active lists the routing rules in force (see Set.Active).
func (r *Registry) Active() []Active {
	h := r.acquire()
	if h == nil {
		return nil
	}
	defer h.release()
	return h.set.Active()
}

// Stats returns the decision counters since NewRegistry, across reloads.
func (r *Registry) Stats() []PolicyStats { return r.opts.stats.snapshot() }

// Close implements engine.Policy: new decisions get engine.ErrClosed, and
// the current Set is closed once the decisions in flight finish (Close waits
// for that, or for ctx).
func (r *Registry) Close(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Swap(true) {
		return nil
	}
	h := r.cur.Load()
	h.release()
	select {
	case <-h.done:
		return h.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
