// Package wasm runs quota policies compiled to WebAssembly (policy ABI v1,
// docs/policy-abi.md) in wazero. It is the only package that imports wazero,
// and wazero is the only WebAssembly decoder it uses.
//
// A module is compiled once (in a child process when the program serves
// one, see ServeCompile; through the on-disk compilation cache when a
// directory is given) and instantiated on demand into a bounded pool.
// Guests get no filesystem, network, environment or real clock (wazero's
// fake clocks and random source), a memory page limit, a table size limit,
// a call depth limit, a per-call deadline and capped stdout/stderr. An
// instance is closed and discarded after any error.
//
// The deadline is wazero's own: the runtime is compiled with
// WithCloseOnContextDone, so compiled code comes back to Go at every loop
// head, and every call runs under a context with the module's deadline.
// A listener on every guest function (sandbox.go) adds the check wazero
// lacks at function entry, where loop-free call trees would otherwise run
// unchecked. docs/policy-abi.md §3 lists what is bounded, by what, and the
// residual limits.
package wasm

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/plugins/wire"
	"github.com/licensehost/licensehost/sdk"
)

// Defaults and bounds of Config.
const (
	DefaultMemoryPages = 512 // 32 MiB
	MaxMemoryPages     = 65536
	DefaultTimeout     = 100 * time.Millisecond
	DefaultMaxOutput   = 64 << 10
	DefaultMaxLog      = 4 << 10
	// DefaultInitTimeout bounds instantiation (the start function and the
	// guest's _initialize).
	DefaultInitTimeout = 5 * time.Second
	// DefaultCompileTimeout bounds compiling a module; a compile that takes
	// longer is abandoned and the module refused. The 2 MB Go-built example
	// compiles in under a second on an idle machine but took over 10 s on a
	// loaded 2-core one (docs/policy-abi.md §3).
	DefaultCompileTimeout = 30 * time.Second
	// MaxModuleSize is the largest module file accepted, in bytes.
	MaxModuleSize = 16 << 20
)

// eagerInstances is how many instances of the pool are created at load.
const eagerInstances = 4

// minInputBuffer is the smallest input buffer asked of policy_alloc, so a
// slightly longer input does not cost another call.
const minInputBuffer = 1024

// Exports of ABI v1.
const (
	exportVersion = "policy_abi_version"
	exportAlloc   = "policy_alloc"
	exportDecide  = "policy_decide"
	exportMemory  = "memory"
	exportInit    = "_initialize"
)

// Config configures one policy module. Zero fields take the defaults.
type Config struct {
	Name           string        // names the policy in decisions and logs, e.g. "wasm:tiered"
	SHA256         string        // required: hex sha256 of the module bytes
	CacheDir       string        // wazero compilation cache directory; "" compiles in memory only
	MemoryPages    uint32        // guest memory limit in 64 KiB pages
	Timeout        time.Duration // per decision (waiting for an instance included); the guest is stopped and discarded past it
	InitTimeout    time.Duration // limit of instantiating one instance
	CompileTimeout time.Duration // limit of compiling the module
	MaxOutput      int           // largest encoded answer accepted, bytes
	MaxLog         int           // guest stdout+stderr kept per call, bytes
	Instances      int           // pool size; default GOMAXPROCS
	Logger         *slog.Logger  // default slog.Default()
}

func (c *Config) setDefaults() error {
	c.MemoryPages = cmp.Or(c.MemoryPages, DefaultMemoryPages)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.InitTimeout = cmp.Or(c.InitTimeout, DefaultInitTimeout)
	c.CompileTimeout = cmp.Or(c.CompileTimeout, DefaultCompileTimeout)
	c.MaxOutput = cmp.Or(c.MaxOutput, DefaultMaxOutput)
	c.MaxLog = cmp.Or(c.MaxLog, DefaultMaxLog)
	c.Instances = cmp.Or(c.Instances, runtime.GOMAXPROCS(0))
	c.Logger = cmp.Or(c.Logger, slog.Default())
	if c.Name == "" {
		c.Name = "wasm"
	}
	switch {
	case c.MemoryPages > MaxMemoryPages:
		return fmt.Errorf("%w: memoryPages %d exceeds %d", ErrConfig, c.MemoryPages, MaxMemoryPages)
	case c.Timeout < 0 || c.InitTimeout < 0 || c.CompileTimeout < 0:
		return fmt.Errorf("%w: negative timeout", ErrConfig)
	case c.MaxOutput < 0 || c.MaxOutput > 1<<30 || c.MaxLog < 0:
		return fmt.Errorf("%w: maxOutput/maxLog out of range", ErrConfig)
	case c.Instances < 0:
		return fmt.Errorf("%w: negative instance count", ErrConfig)
	case c.SHA256 == "":
		return fmt.Errorf("%w: sha256 is required", ErrConfig)
	}
	return nil
}

// Policy is a loaded WebAssembly policy; it implements engine.Policy and is
// safe for concurrent use.
type Policy struct {
	cfg      Config
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	modCfg   wazero.ModuleConfig
	cache    wazero.CompilationCache

	// life is canceled by Close: it stops the guests still running.
	life     context.Context
	stopLife context.CancelFunc

	// slots bounds the live instances: it holds Instances entries, each an
	// idle instance or nil (a free slot to instantiate into).
	slots chan *instance
	// idle holds one idle instance out of slots, taken and given back
	// with an atomic swap (the common case of one call at a time costs
	// no channel operation); waiting counts acquirers blocked on slots,
	// so release never parks an instance there while one waits.
	idle      atomic.Pointer[instance]
	waiting   atomic.Int32
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ engine.Policy = (*Policy)(nil)

// Load reads, verifies and compiles the module at path and checks it
// against ABI v1 by instantiating one instance.
func Load(ctx context.Context, path string, cfg Config) (*Policy, error) {
	fi, err := os.Stat(path)
	if err == nil && fi.Size() > MaxModuleSize {
		err = fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, fi.Size(), MaxModuleSize)
	}
	var b []byte
	if err == nil {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("wasm policy %s: %w", cfg.Name, err)
	}
	return New(ctx, b, cfg)
}

// New is Load for module bytes already in memory.
func New(ctx context.Context, module []byte, cfg Config) (_ *Policy, err error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("wasm policy %s: %w", cfg.Name, err)
		}
	}()
	if len(module) > MaxModuleSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(module), MaxModuleSize)
	}
	sum := sha256.Sum256(module)
	if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, cfg.SHA256) {
		return nil, fmt.Errorf("%w: module is %s, manifest says %s", ErrHashMismatch, got, cfg.SHA256)
	}
	if module, err = boundTables(module); err != nil {
		return nil, err
	}
	// A child process compiles it first, under a memory and a time limit:
	// what it survives, this process can compile (wazero is deterministic),
	// through the cache the child filled when there is one.
	if err := compileInChild(ctx, module, cfg); err != nil {
		return nil, err
	}

	p := &Policy{cfg: cfg}
	p.life, p.stopLife = context.WithCancel(context.WithoutCancel(ctx))
	if p.rt, p.cache, err = newRuntime(ctx, cfg.MemoryPages, cfg.CacheDir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			p.stopLife()
			_ = p.rt.Close(context.WithoutCancel(ctx))
			if p.cache != nil {
				_ = p.cache.Close(context.WithoutCancel(ctx))
			}
		}
	}()
	if p.compiled, err = compileBounded(ctx, p.rt, module, cfg.CompileTimeout); err != nil {
		return nil, err
	}
	if err = checkExports(p.compiled); err != nil {
		return nil, err
	}
	// No WithFS, WithEnv, WithArgs, WithSysWalltime, WithSysNanotime or
	// WithRandSource: the guest sees no files, no environment, a fake clock
	// and a deterministic random source. Reactor modules (Go's c-shared)
	// initialise in _initialize; a module without it has nothing to run.
	p.modCfg = wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(exportInit)

	// Instantiate up to eagerInstances now: the first proves the module
	// links, initialises within its limits and speaks a known ABI version;
	// the others spare the first concurrent decisions an instantiation
	// inside their deadline. The rest of the pool fills on demand, and a
	// failed instance is replaced in the background.
	p.slots = make(chan *instance, cfg.Instances)
	for i := range cfg.Instances {
		if i >= eagerInstances {
			p.slots <- nil
			continue
		}
		inst, err := p.instantiate(ctx)
		if err != nil {
			for range len(p.slots) {
				if x := <-p.slots; x != nil {
					x.close()
				}
			}
			return nil, err
		}
		p.slots <- inst
	}
	return p, nil
}

// newRuntime is the one runtime configuration of the host (and of the
// compile child, so that both share compilation cache entries).
func newRuntime(ctx context.Context, pages uint32, cacheDir string) (wazero.Runtime, wazero.CompilationCache, error) {
	rc := wazero.NewRuntimeConfigCompiler().
		WithCoreFeatures(api.CoreFeaturesV2).
		WithMemoryLimitPages(pages).
		WithCloseOnContextDone(true)
	var cache wazero.CompilationCache
	if cacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cacheDir); err != nil {
			return nil, nil, fmt.Errorf("compilation cache: %w", err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if err := instantiateWASI(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		if cache != nil {
			_ = cache.Close(ctx)
		}
		return nil, nil, fmt.Errorf("wasi: %w", err)
	}
	return rt, cache, nil
}

// compileBounded compiles module with the entry-check listener, giving up
// after limit. A compile given up on goes on in the background until wazero
// returns (it takes no cancellation); the compile child, which is killed,
// is the real bound (compile.go).
func compileBounded(ctx context.Context, rt wazero.Runtime, module []byte, limit time.Duration) (wazero.CompiledModule, error) {
	type result struct {
		m   wazero.CompiledModule
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := rt.CompileModule(withEntryCheck(ctx), module)
		done <- result{m, err}
	}()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("compile: %w", r.err)
		}
		return r.m, nil
	case <-t.C:
		return nil, fmt.Errorf("%w: compiling took longer than %v", ErrCompile, limit)
	case <-ctx.Done():
		return nil, fmt.Errorf("compile: %w", ctx.Err())
	}
}

func checkExports(m wazero.CompiledModule) error {
	want := map[string][2][]api.ValueType{
		exportVersion: {nil, {api.ValueTypeI32}},
		exportAlloc:   {{api.ValueTypeI32}, {api.ValueTypeI32}},
		exportDecide:  {{api.ValueTypeI32, api.ValueTypeI32}, {api.ValueTypeI64}},
	}
	fns := m.ExportedFunctions()
	var problems []string
	for _, name := range []string{exportVersion, exportAlloc, exportDecide} {
		fn, ok := fns[name]
		switch {
		case !ok:
			problems = append(problems, "missing "+name)
		case !sameTypes(fn.ParamTypes(), want[name][0]) || !sameTypes(fn.ResultTypes(), want[name][1]):
			problems = append(problems, name+" has the wrong signature")
		}
	}
	if fn, ok := fns[exportInit]; ok && (len(fn.ParamTypes()) != 0 || len(fn.ResultTypes()) != 0) {
		problems = append(problems, exportInit+" has the wrong signature")
	}
	if _, ok := m.ExportedMemories()[exportMemory]; !ok {
		problems = append(problems, `missing memory "memory"`)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrExports, strings.Join(problems, ", "))
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool { return bytes.Equal(a, b) }

// Decide implements engine.Policy. Errors wrap one of the kinds of package
// wire (ErrTimeout, ErrTrap, ErrBadOutput, ErrUnavailable, ErrCanceled).
// Config.Timeout bounds the whole decision, waiting for a free instance
// included; ctx (the caller's) bounds only that wait: a guest already
// running is not stopped because its caller left.
func (p *Policy) Decide(ctx context.Context, in engine.QuotaInput) (engine.QuotaDecision, error) {
	deadline := time.Now().Add(p.cfg.Timeout)
	inst, err := p.acquire(ctx, deadline)
	if err != nil {
		return engine.QuotaDecision{}, err
	}
	d, err := inst.call(p, &in, deadline)
	p.release(inst, err == nil)
	return d, err
}

func (p *Policy) acquire(ctx context.Context, deadline time.Time) (*instance, error) {
	if p.closed.Load() {
		return nil, &wire.CallError{Kind: wire.ErrUnavailable, Err: engine.ErrClosed}
	}
	if inst := p.idle.Swap(nil); inst != nil {
		return inst, nil
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var inst *instance
		select {
		case inst = <-p.slots:
		default:
			if timer == nil {
				timer = time.NewTimer(time.Until(deadline))
			}
			p.waiting.Add(1)
			if inst = p.idle.Swap(nil); inst == nil {
				select {
				case inst = <-p.slots:
				case <-timer.C:
					p.waiting.Add(-1)
					return nil, &wire.CallError{Kind: wire.ErrTimeout, Err: errors.New("no instance came free within the timeout")}
				case <-ctx.Done():
					p.waiting.Add(-1)
					return nil, &wire.CallError{Kind: wire.ErrCanceled, Err: ctx.Err()}
				}
			}
			p.waiting.Add(-1)
		}
		if p.closed.Load() {
			p.slots <- inst
			return nil, &wire.CallError{Kind: wire.ErrUnavailable, Err: engine.ErrClosed}
		}
		if inst != nil {
			return inst, nil
		}
		// A free slot: instantiate into it in the background, bounded by
		// InitTimeout, and wait for it (or another instance) no longer
		// than this decision's deadline.
		go p.refill()
	}
}

// refill instantiates an instance into a slot it owns and hands it on
// through slots; a nil when instantiation fails (or the policy closed).
func (p *Policy) refill() {
	if p.closed.Load() {
		p.slots <- nil
		return
	}
	inst, err := p.instantiate(p.life)
	if err != nil {
		if !p.closed.Load() {
			p.cfg.Logger.Warn("policy instance could not be created", "policy", p.cfg.Name, "error", err)
		}
		p.slots <- nil
		return
	}
	p.slots <- inst
}

// release returns inst to the pool, or closes it and replaces it in the
// background when it failed.
func (p *Policy) release(inst *instance, ok bool) {
	if !ok || p.closed.Load() {
		inst.close()
		if p.closed.Load() {
			p.slots <- nil
			return
		}
		go p.refill()
		return
	}
	if p.waiting.Load() == 0 && p.idle.CompareAndSwap(nil, inst) {
		// An acquirer that started waiting, or a Close that began, after
		// the checks above must still find it: hand it over through slots.
		if p.waiting.Load() != 0 || p.closed.Load() {
			if x := p.idle.Swap(nil); x != nil {
				p.slots <- x
			}
		}
		return
	}
	p.slots <- inst
}

// Close implements engine.Policy: it refuses new calls, stops the guests
// still running (they end with ErrUnavailable), waits for the calls in
// flight (or for ctx), and closes every instance and the runtime.
func (p *Policy) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		p.stopLife()
		drained := 0
		for range cap(p.slots) {
			if inst := p.idle.Swap(nil); inst != nil {
				inst.close()
				drained++
				continue
			}
			select {
			case inst := <-p.slots:
				if inst != nil {
					inst.close()
				}
				drained++
			case <-ctx.Done():
				p.closeErr = ctx.Err()
			}
			if p.closeErr != nil {
				break
			}
		}
		// Callers still waiting for an instance get an empty slot, see the
		// policy closed and give it back: none is left waiting for ever.
		for range drained {
			p.slots <- nil
		}
		bg := context.WithoutCancel(ctx)
		closeRuntime := func() {
			_ = p.rt.Close(bg)
			if p.cache != nil {
				_ = p.cache.Close(bg)
			}
		}
		if p.closeErr == nil {
			closeRuntime()
			return
		}
		// Guests still running (stopped, but not yet back) use memory the
		// runtime would unmap: close it once they are all back.
		go func() {
			for range cap(p.slots) - drained {
				if inst := <-p.slots; inst != nil {
					inst.close()
				}
			}
			closeRuntime()
		}()
	})
	return p.closeErr
}

// Name returns the policy's name.
func (p *Policy) Name() string { return p.cfg.Name }

// instance is one instantiated guest with its reusable buffers.
type instance struct {
	mod    api.Module
	mem    api.Memory
	alloc  api.Function
	decide api.Function
	stack  []uint64
	buf    []byte // the encoded input
	inPtr  uint32 // the guest buffer from policy_alloc
	inCap  uint32
	log    *capWriter
	guard  *guard // call depth and deadline, seen by the entry check
	// ctx is the context of every call, a callContext carrying guard: a
	// child of the policy's life, canceled (with errDeadline as cause) by
	// timer when a call overruns its deadline, after which the instance is
	// discarded. One context and one timer per instance, not per call.
	ctx    context.Context
	timer  *time.Timer
	memory *memoryAllocator // the guest memory, unmapped by close
}

func (p *Policy) instantiate(ctx context.Context) (_ *instance, err error) {
	inst := &instance{
		stack: make([]uint64, 2),
		log:   &capWriter{max: p.cfg.MaxLog},
	}
	inst.guard = &guard{log: inst.log, rand: rand.NewChaCha8([32]byte{'l', 'i', 'c', 'e', 'n', 's', 'e', 'h', 'o', 's', 't'})}
	cctx, stop := context.WithCancelCause(p.life)
	inst.ctx = &callContext{Context: cctx, g: inst.guard}
	inst.timer = time.AfterFunc(time.Hour, func() { stop(errDeadline) })
	inst.timer.Stop()
	cfg := p.modCfg.WithStdout(inst.log).WithStderr(inst.log)
	deadline := time.Now().Add(p.cfg.InitTimeout)
	ictx, cancel := context.WithDeadline(context.WithValue(ctx, guardKey{}, inst.guard), deadline)
	defer cancel()
	inst.memory = newMemoryAllocator()
	ictx = withMemoryAllocator(ictx, inst.memory)
	inst.guard.start(deadline)
	mod, err := p.rt.InstantiateModule(ictx, p.compiled, cfg)
	if err != nil {
		inst.memory.free()
		return nil, p.callError(ictx, err, inst.log)
	}
	defer func() {
		if err != nil {
			_ = mod.Close(context.Background())
			inst.memory.free()
		}
	}()
	inst.mod = mod
	inst.mem = mod.ExportedMemory(exportMemory)
	inst.alloc = mod.ExportedFunction(exportAlloc)
	inst.decide = mod.ExportedFunction(exportDecide)
	inst.guard.start(deadline)
	res, err := mod.ExportedFunction(exportVersion).Call(ictx)
	if err != nil {
		return nil, p.callError(ictx, err, inst.log)
	}
	if v := uint32(res[0]); v != sdk.ABIVersion {
		return nil, fmt.Errorf("%w: module speaks %d, host speaks %d", ErrABIVersion, v, sdk.ABIVersion)
	}
	return inst, nil
}

func (inst *instance) call(p *Policy, in *engine.QuotaInput, deadline time.Time) (d engine.QuotaDecision, err error) {
	inst.log.reset()
	ctx := inst.ctx
	inst.guard.start(deadline)
	inst.timer.Reset(time.Until(deadline))
	defer func() {
		if !inst.timer.Stop() && err == nil {
			// The deadline passed as the call returned: the context is
			// canceled, so the instance cannot serve another call.
			err = &wire.CallError{Kind: wire.ErrTimeout, Err: errors.New("the deadline passed as the guest answered")}
		}
	}()
	// Encode with the sdk codec, then copy into the guest's input buffer;
	// an input that outgrows it gets a bigger one from policy_alloc.
	inst.buf = wire.AppendInput(inst.buf[:0], in)
	n := uint32(len(inst.buf))
	if n > inst.inCap {
		size := max(n, minInputBuffer)
		inst.stack[0] = uint64(size)
		if err := inst.alloc.CallWithStack(ctx, inst.stack); err != nil {
			return d, p.callError(ctx, err, inst.log)
		}
		ptr := uint32(inst.stack[0])
		if ptr == 0 {
			return d, &wire.CallError{Kind: wire.ErrBadOutput, Err: errors.New("policy_alloc returned 0"), Output: inst.log.String()}
		}
		if _, ok := inst.mem.Read(ptr, size); !ok {
			return d, &wire.CallError{Kind: wire.ErrBadOutput, Err: fmt.Errorf("policy_alloc returned %d+%d, outside guest memory", ptr, size)}
		}
		inst.inPtr, inst.inCap = ptr, size
	}
	inst.mem.Write(inst.inPtr, inst.buf)
	inst.stack[0], inst.stack[1] = uint64(inst.inPtr), uint64(n)
	if err := inst.decide.CallWithStack(ctx, inst.stack); err != nil {
		return d, p.callError(ctx, err, inst.log)
	}
	ptr, size := uint32(inst.stack[0]>>32), uint32(inst.stack[0])
	switch {
	case size == 0:
		return d, &wire.CallError{Kind: wire.ErrBadOutput, Err: errors.New("policy_decide answered no output"), Output: inst.log.String()}
	case int64(size) > int64(p.cfg.MaxOutput):
		return d, &wire.CallError{Kind: wire.ErrBadOutput, Err: fmt.Errorf("output of %d bytes exceeds the limit of %d", size, p.cfg.MaxOutput)}
	}
	out, ok := inst.mem.Read(ptr, size)
	if !ok {
		return d, &wire.CallError{Kind: wire.ErrBadOutput, Err: fmt.Errorf("output at %d+%d lies outside guest memory", ptr, size)}
	}
	d, err = wire.Decision(out, p.cfg.Name)
	if err == nil && inst.log.Len() > 0 {
		p.cfg.Logger.Debug("policy guest output", "policy", p.cfg.Name, "output", inst.log.String())
	}
	return d, err
}

func (inst *instance) close() {
	inst.timer.Stop()
	_ = inst.mod.Close(context.Background())
	inst.memory.free()
}

// callError classifies a failed guest call made under ctx.
func (p *Policy) callError(ctx context.Context, err error, log *capWriter) error {
	var exit *sys.ExitError
	kind := wire.ErrTrap
	switch {
	case p.closed.Load():
		kind = wire.ErrUnavailable
	case errors.Is(err, errDeadline), errors.Is(context.Cause(ctx), errDeadline), errors.Is(ctx.Err(), context.DeadlineExceeded):
		kind = wire.ErrTimeout
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		kind = wire.ErrTimeout
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled, ctx.Err() != nil:
		kind = wire.ErrCanceled
	}
	return &wire.CallError{Kind: kind, Err: shortError{err}, Output: log.String()}
}

// maxErrorText bounds the text of a guest's error: wazero's includes the
// guest's stack trace, which a call depth of MaxCallDepth makes long.
const maxErrorText = 2048

// shortError is an error whose text is cut at maxErrorText bytes.
type shortError struct{ err error }

func (e shortError) Error() string {
	s := e.err.Error()
	if len(s) > maxErrorText {
		s = s[:maxErrorText] + fmt.Sprintf("… (%d more bytes)", len(s)-maxErrorText)
	}
	return s
}

func (e shortError) Unwrap() error { return e.err }
