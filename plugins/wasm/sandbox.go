package wasm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// What wazero's WithCloseOnContextDone does not bound, and how this file
// bounds it (docs/policy-abi.md §3):
//
//   - wazero checks for a closed module at loop heads only. A module
//     without loops can still run for ever through calls: a call tree in
//     which each function calls the next twice runs 2^n calls with n
//     functions, and recursion through call_indirect has no loop either.
//     A listener on every guest function checks at each function entry:
//     the module closed (its deadline passed, wazero's watchdog closed it)
//     or, every 256 entries, the deadline read from the clock, in case the
//     watchdog goroutine has not run yet.
//   - the same listener bounds the call depth to MaxCallDepth, so deep
//     recursion traps long before wazero's own stack ceiling (~100 MB of
//     stack per call).
//   - WASI fd_write, the one host function a policy uses to write, is
//     replaced: it refuses other descriptors than stdout and stderr and
//     more than 1024 iovecs a call (as writev does, EINVAL) and keeps at
//     most maxLog bytes; every WASI function has a listener that stops a
//     call made after the deadline.

// MaxCallDepth is the deepest guest call stack allowed; a deeper call traps.
const MaxCallDepth = 10000

// maxIovecs is the most iovecs one fd_write call may pass (Linux IOV_MAX).
const maxIovecs = 1024

var (
	errDeadline = errors.New("the guest ran past its deadline")
	errTooDeep  = fmt.Errorf("call stack deeper than %d", MaxCallDepth)
)

// guard is the per-instance state the entry check sees, through the call's
// context. An instance runs one call at a time, so it needs no lock.
type guard struct {
	depth    int
	entries  uint32
	deadline time.Time
	log      *capWriter    // the instance's stdout and stderr
	rand     *rand.ChaCha8 // the instance's random_get source, fixed seed
}

type guardKey struct{}

// callContext is the context of the calls of a Policy into an instance: it
// carries the instance's guard, which the listener finds with a type
// assertion. ctx.Value would walk the chain of contexts, a few times the
// cost on each of the two exits to Go of every guest function call
// (docs/benchmarks-policy.md).
type callContext struct {
	context.Context
	g *guard
}

func (c *callContext) Value(key any) any {
	if key == (guardKey{}) {
		return c.g
	}
	return c.Context.Value(key)
}

// guardOf is the guard of the instance making a call under ctx: a
// callContext's, or the one instantiation puts in the context's values.
func guardOf(ctx context.Context) *guard {
	if c, ok := ctx.(*callContext); ok {
		return c.g
	}
	g, _ := ctx.Value(guardKey{}).(*guard)
	return g
}

func (g *guard) start(deadline time.Time) { g.depth, g.entries, g.deadline = 0, 0, deadline }

// entryCheck is the function listener of every guest function.
type entryCheck struct{}

func withEntryCheck(ctx context.Context) context.Context {
	return experimental.WithFunctionListenerFactory(ctx, entryCheck{})
}

func (entryCheck) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	if def.GoFunction() != nil {
		return hostEntryCheck{}
	}
	return entryCheck{}
}

// hostEntryCheck is the listener of every host function (WASI): a call
// made past the deadline stops the guest, whatever the guest does between
// host calls (a straight run of them has no loop head and no guest
// function entry).
type hostEntryCheck struct{}

func (hostEntryCheck) Before(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	if g := guardOf(ctx); g != nil && time.Now().After(g.deadline) {
		panic(errDeadline)
	}
}

func (hostEntryCheck) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {}

func (hostEntryCheck) Abort(context.Context, api.Module, api.FunctionDefinition, error) {}

// Before runs at every guest function entry. Its panic ends the call:
// wazero returns it as the call's error.
func (entryCheck) Before(ctx context.Context, mod api.Module, _ api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	if mod.IsClosed() {
		panic(errDeadline)
	}
	g := guardOf(ctx)
	if g == nil {
		return
	}
	g.depth++
	if g.depth > MaxCallDepth {
		panic(errTooDeep)
	}
	g.entries++
	if g.entries%256 == 0 && time.Now().After(g.deadline) {
		panic(errDeadline)
	}
}

func (entryCheck) After(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ []uint64) {
	if g := guardOf(ctx); g != nil {
		g.depth--
	}
}

func (entryCheck) Abort(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ error) {
	if g := guardOf(ctx); g != nil {
		g.depth--
	}
}

// instantiateWASI provides wasi_snapshot_preview1 with fd_write replaced.
func instantiateWASI(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(wasi_snapshot_preview1.ModuleName)
	wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(fdWrite),
			[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32},
			[]api.ValueType{api.ValueTypeI32}).
		WithParameterNames("fd", "iovs", "iovs_len", "result.nwritten").
		Export("fd_write")
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(randomGet),
			[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32},
			[]api.ValueType{api.ValueTypeI32}).
		WithParameterNames("buf", "buf_len").
		Export("random_get")
	_, err := b.Instantiate(withEntryCheck(ctx))
	return err
}

// WASI errno values (wasi_snapshot_preview1).
const (
	errnoSuccess = 0
	errnoBadf    = 8
	errnoFault   = 21
	errnoInval   = 28
)

// fdWrite is WASI fd_write for stdout and stderr, both captured by the
// module's configured writer (a capWriter). It reports every byte written,
// as a full pipe would, whatever the writer keeps.
func fdWrite(ctx context.Context, mod api.Module, stack []uint64) {
	if g := guardOf(ctx); g != nil && time.Now().After(g.deadline) {
		panic(errDeadline)
	}
	fd, iovs, n, resultPtr := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	stack[0] = errnoSuccess
	if fd != 1 && fd != 2 {
		stack[0] = errnoBadf
		return
	}
	if n > maxIovecs {
		stack[0] = errnoInval
		return
	}
	mem := mod.Memory()
	vecs, ok := mem.Read(iovs, n*8)
	if !ok {
		stack[0] = errnoFault
		return
	}
	w := writerOf(ctx)
	var total uint32
	for i := uint32(0); i < n; i++ {
		off, l := binary.LittleEndian.Uint32(vecs[i*8:]), binary.LittleEndian.Uint32(vecs[i*8+4:])
		b, ok := mem.Read(off, l)
		if !ok {
			stack[0] = errnoFault
			return
		}
		if w != nil {
			w.write(b)
		}
		total += l
	}
	if !mem.WriteUint32Le(resultPtr, total) {
		stack[0] = errnoFault
	}
}

// randomChunk is how much random_get fills between two looks at the clock.
const randomChunk = 1 << 20

// randomGet is WASI random_get: deterministic bytes (a ChaCha8 stream of a
// fixed seed per instance, as wazero's own fake source is deterministic),
// written straight into guest memory a MiB at a time, the deadline checked
// between chunks. wazero's own allocated a buffer of the requested size on
// every call: a straight run of 32 MiB calls took the host to 183 MiB RSS.
func randomGet(ctx context.Context, mod api.Module, stack []uint64) {
	g := guardOf(ctx)
	b, ok := mod.Memory().Read(uint32(stack[0]), uint32(stack[1]))
	if !ok {
		stack[0] = errnoFault
		return
	}
	if g == nil {
		stack[0] = errnoInval // only instances of a Policy call it
		return
	}
	for len(b) > 0 {
		if time.Now().After(g.deadline) {
			panic(errDeadline)
		}
		n := min(len(b), randomChunk)
		_, _ = g.rand.Read(b[:n])
		b = b[n:]
	}
	stack[0] = errnoSuccess
}

// writerOf finds the capWriter of the instance making the call.
func writerOf(ctx context.Context) *capWriter {
	if g := guardOf(ctx); g != nil {
		return g.log
	}
	return nil
}

// capWriter keeps the first max bytes written to it since the last reset.
// used spares reset and Len the lock in the common case of a silent guest.
type capWriter struct {
	used    atomic.Bool // written to since the last reset
	mu      sync.Mutex
	b       []byte
	max     int
	dropped int
}

func (w *capWriter) Write(p []byte) (int, error) { w.write(p); return len(p), nil }

func (w *capWriter) write(p []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.used.Store(true)
	n := min(len(p), w.max-len(w.b))
	w.b = append(w.b, p[:n]...)
	w.dropped += len(p) - n
}

func (w *capWriter) reset() {
	if !w.used.Load() {
		return
	}
	w.mu.Lock()
	w.b, w.dropped = w.b[:0], 0
	w.used.Store(false)
	w.mu.Unlock()
}

func (w *capWriter) Len() int {
	if !w.used.Load() {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.b)
}

func (w *capWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dropped > 0 {
		return string(w.b) + fmt.Sprintf("… (%d more bytes dropped)", w.dropped)
	}
	return string(w.b)
}
