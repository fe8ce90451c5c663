// Package wasm runs quota policies compiled to WebAssembly (policy ABI v1,
// docs/policy-abi.md) in wazero. It is the only package that imports wazero.
//
// A module is compiled once (through the on-disk compilation cache when a
// directory is given) and instantiated on demand into a bounded pool. Guests
// get no filesystem, network, environment or real clock (wazero's fake
// clocks and random source), a memory page limit, a per-call timeout and
// capped stdout/stderr. An instance is closed and discarded after any error.
//
// The timeout is enforced by fuel metering compiled into the module (meter.go)
// rather than by wazero's WithCloseOnContextDone, which starts a goroutine on
// every call and leaves native code at every loop iteration.
package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/plugins/wire"
	"github.com/licensehost/licensehost/sdk"
)

// Defaults of Config.
const (
	DefaultMemoryPages = 512 // 32 MiB
	MaxMemoryPages     = 65536
	DefaultTimeout     = 100 * time.Millisecond
	DefaultMaxOutput   = 64 << 10
	DefaultMaxLog      = 4 << 10
	// DefaultInitTimeout bounds instantiation (the guest's _initialize).
	DefaultInitTimeout = 5 * time.Second
)

// minInputBuffer is the smallest input buffer asked of policy_alloc, so a
// slightly longer input does not cost another call.
const minInputBuffer = 1024

// Exports of ABI v1.
const (
	exportVersion = "policy_abi_version"
	exportAlloc   = "policy_alloc"
	exportDecide  = "policy_decide"
	exportMemory  = "memory"
)

// Config configures one policy module. Zero fields take the defaults.
type Config struct {
	Name        string        // names the policy in decisions and logs, e.g. "wasm:tiered"
	SHA256      string        // required: hex sha256 of the module bytes
	CacheDir    string        // wazero compilation cache directory; "" compiles in memory only
	MemoryPages uint32        // guest memory limit in 64 KiB pages
	Timeout     time.Duration // per-call limit; the guest is stopped and discarded past it
	InitTimeout time.Duration // limit of instantiating one instance
	MaxOutput   int           // largest encoded answer accepted, bytes
	MaxLog      int           // guest stdout+stderr kept per call, bytes
	Instances   int           // pool size; default GOMAXPROCS
	Logger      *slog.Logger  // default slog.Default()

	// UnsafeNoTimeout runs the module as it is, without fuel metering: a
	// runaway guest can never be stopped. For benchmarks only; no manifest
	// can set it.
	UnsafeNoTimeout bool

	// wazeroTimeout replaces fuel metering with wazero's own mechanism
	// (WithCloseOnContextDone and a context.WithTimeout per call), for
	// benchmarks that compare the two.
	wazeroTimeout bool
}

func (c *Config) setDefaults() error {
	if c.MemoryPages == 0 {
		c.MemoryPages = DefaultMemoryPages
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.InitTimeout == 0 {
		c.InitTimeout = DefaultInitTimeout
	}
	if c.MaxOutput == 0 {
		c.MaxOutput = DefaultMaxOutput
	}
	if c.MaxLog == 0 {
		c.MaxLog = DefaultMaxLog
	}
	if c.Instances == 0 {
		c.Instances = runtime.GOMAXPROCS(0)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Name == "" {
		c.Name = "wasm"
	}
	switch {
	case c.MemoryPages > MaxMemoryPages:
		return fmt.Errorf("%w: memoryPages %d exceeds %d", ErrConfig, c.MemoryPages, MaxMemoryPages)
	case c.Timeout < 0 || c.InitTimeout < 0:
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

	// slots bounds the live instances: it holds Instances entries, each an
	// idle instance or nil (a free slot to instantiate into).
	slots chan *instance
	// metered says the module runs with fuel metering (not UnsafeNoTimeout
	// nor wazeroTimeout).
	metered bool
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
	b, err := os.ReadFile(path)
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
	sum := sha256.Sum256(module)
	if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, cfg.SHA256) {
		return nil, fmt.Errorf("%w: module is %s, manifest says %s", ErrHashMismatch, got, cfg.SHA256)
	}

	metered := !cfg.UnsafeNoTimeout && !cfg.wazeroTimeout
	if metered {
		if module, err = meter(module); err != nil {
			return nil, err
		}
	}
	rc := wazero.NewRuntimeConfigCompiler().
		WithMemoryLimitPages(cfg.MemoryPages).
		WithCloseOnContextDone(cfg.wazeroTimeout)
	p := &Policy{cfg: cfg, metered: metered}
	if cfg.CacheDir != "" {
		if p.cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("compilation cache: %w", err)
		}
		rc = rc.WithCompilationCache(p.cache)
	}
	p.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	defer func() {
		if err != nil {
			_ = p.rt.Close(context.WithoutCancel(ctx))
			if p.cache != nil {
				_ = p.cache.Close(context.WithoutCancel(ctx))
			}
		}
	}()
	if _, err = wasi_snapshot_preview1.Instantiate(ctx, p.rt); err != nil {
		return nil, fmt.Errorf("wasi: %w", err)
	}
	if metered {
		_, err = p.rt.NewHostModuleBuilder(meterModule).
			NewFunctionBuilder().WithGoFunction(api.GoFunc(yield), nil, nil).Export(meterYield).
			Instantiate(ctx)
		if err != nil {
			return nil, fmt.Errorf("host module: %w", err)
		}
	}
	if p.compiled, err = p.rt.CompileModule(ctx, module); err != nil {
		return nil, fmt.Errorf("compile: %w", err)
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
		WithStartFunctions("_initialize")

	p.slots = make(chan *instance, cfg.Instances)
	for range cfg.Instances {
		p.slots <- nil
	}
	// Instantiate one instance now: it proves the module links, initialises
	// within its limits and speaks a known ABI version.
	inst, err := p.instantiate(ctx)
	if err != nil {
		return nil, err
	}
	<-p.slots
	p.slots <- inst
	return p, nil
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
// ctx bounds only the wait for a free instance (and a new instance's
// initialisation); the call itself is bounded by Config.Timeout.
func (p *Policy) Decide(ctx context.Context, in engine.QuotaInput) (engine.QuotaDecision, error) {
	inst, err := p.acquire(ctx)
	if err != nil {
		return engine.QuotaDecision{}, err
	}
	d, err := inst.call(p, &in)
	p.release(inst, err == nil)
	return d, err
}

func (p *Policy) acquire(ctx context.Context) (*instance, error) {
	if p.closed.Load() {
		return nil, &wire.CallError{Kind: wire.ErrUnavailable, Err: engine.ErrClosed}
	}
	inst := p.idle.Swap(nil)
	if inst == nil {
		select {
		case inst = <-p.slots:
		default:
			p.waiting.Add(1)
			if inst = p.idle.Swap(nil); inst == nil {
				select {
				case inst = <-p.slots:
				case <-ctx.Done():
					p.waiting.Add(-1)
					return nil, &wire.CallError{Kind: wire.ErrCanceled, Err: ctx.Err()}
				}
			}
			p.waiting.Add(-1)
		}
	}
	if p.closed.Load() {
		p.slots <- inst
		return nil, &wire.CallError{Kind: wire.ErrUnavailable, Err: engine.ErrClosed}
	}
	if inst != nil {
		return inst, nil
	}
	inst, err := p.instantiate(ctx)
	if err != nil {
		p.slots <- nil
		return nil, err
	}
	return inst, nil
}

// release returns inst to the pool, or closes it and frees its slot when it
// failed or the policy is closing.
func (p *Policy) release(inst *instance, ok bool) {
	if !ok || p.closed.Load() {
		inst.close()
		p.slots <- nil
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

// Close implements engine.Policy: it refuses new calls, waits for the calls
// in flight (or for ctx), and closes every instance and the runtime.
func (p *Policy) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
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
				// Calls still running stop at their next yield, which
				// sees the policy closed, or at their timeout.
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
		if err := p.rt.Close(bg); err != nil && p.closeErr == nil {
			p.closeErr = err
		}
		if p.cache != nil {
			_ = p.cache.Close(bg)
		}
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
	buf    []byte // an input that outgrew the guest buffer
	inPtr  uint32 // the guest buffer from policy_alloc
	inCap  uint32
	log    *capWriter
	fuel   api.MutableGlobal // nil without fuel metering
	budget *budget           // the timeout state the yield function sees
	ctx    context.Context   // carries budget to the yield function
}

func (p *Policy) instantiate(ctx context.Context) (_ *instance, err error) {
	inst := &instance{
		stack:  make([]uint64, 2),
		log:    &capWriter{max: p.cfg.MaxLog},
		budget: &budget{limit: p.cfg.InitTimeout, closed: &p.closed},
	}
	inst.ctx = context.WithValue(context.Background(), budgetKey{}, inst.budget)
	cfg := p.modCfg.WithStdout(inst.log).WithStderr(inst.log)
	ictx := context.WithValue(ctx, budgetKey{}, inst.budget)
	if p.cfg.wazeroTimeout {
		var cancel context.CancelFunc
		ictx, cancel = context.WithTimeout(ctx, p.cfg.InitTimeout)
		defer cancel()
	}
	mod, err := p.rt.InstantiateModule(ictx, p.compiled, cfg)
	if err != nil {
		return nil, callError(ictx, err, inst.log)
	}
	defer func() {
		if err != nil {
			_ = mod.Close(context.Background())
		}
	}()
	inst.mod = mod
	inst.mem = mod.ExportedMemory(exportMemory)
	inst.alloc = mod.ExportedFunction(exportAlloc)
	inst.decide = mod.ExportedFunction(exportDecide)
	res, err := mod.ExportedFunction(exportVersion).Call(ictx)
	if err != nil {
		return nil, callError(ictx, err, inst.log)
	}
	if v := uint32(res[0]); v != sdk.ABIVersion {
		return nil, fmt.Errorf("%w: module speaks %d, host speaks %d", ErrABIVersion, v, sdk.ABIVersion)
	}
	if p.metered {
		g, ok := mod.ExportedGlobal(meterFuel).(api.MutableGlobal)
		if !ok {
			return nil, fmt.Errorf("%w: the metered module lacks its fuel global", errMeter)
		}
		inst.fuel = g
	}
	inst.budget.limit = p.cfg.Timeout
	return inst, nil
}

func (inst *instance) call(p *Policy, in *engine.QuotaInput) (d engine.QuotaDecision, err error) {
	inst.log.reset()
	ctx := inst.ctx
	if inst.fuel != nil {
		inst.fuel.Set(meterSlice)
		inst.budget.start = time.Time{}
	} else if p.cfg.wazeroTimeout {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.Timeout)
		defer cancel()
	}
	// Encode straight into the guest's input buffer (a view of its memory);
	// an input that outgrows it lands in a host buffer and gets a bigger one.
	view, _ := inst.mem.Read(inst.inPtr, inst.inCap)
	b := wire.AppendInput(view[:0:len(view)], in)
	n := uint32(len(b))
	if n > inst.inCap {
		inst.buf = b
		size := max(n, minInputBuffer)
		inst.stack[0] = uint64(size)
		if err := inst.alloc.CallWithStack(ctx, inst.stack); err != nil {
			return d, callError(ctx, err, inst.log)
		}
		ptr := uint32(inst.stack[0])
		if ptr == 0 {
			return d, &wire.CallError{Kind: wire.ErrBadOutput, Err: errors.New("policy_alloc returned 0"), Output: inst.log.String()}
		}
		if _, ok := inst.mem.Read(ptr, size); !ok {
			return d, &wire.CallError{Kind: wire.ErrBadOutput, Err: fmt.Errorf("policy_alloc returned %d+%d, outside guest memory", ptr, size)}
		}
		inst.inPtr, inst.inCap = ptr, size
		inst.mem.Write(ptr, inst.buf)
	}
	inst.stack[0], inst.stack[1] = uint64(inst.inPtr), uint64(n)
	if err := inst.decide.CallWithStack(ctx, inst.stack); err != nil {
		return d, callError(ctx, err, inst.log)
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
	d, err = wire.DecisionFor(out, p.cfg.Name, in)
	if err == nil && inst.log.Len() > 0 {
		p.cfg.Logger.Debug("policy guest output", "policy", p.cfg.Name, "output", inst.log.String())
	}
	return d, err
}

func (inst *instance) close() { _ = inst.mod.Close(context.Background()) }

// callError classifies a failed guest call.
func callError(ctx context.Context, err error, log *capWriter) error {
	var exit *sys.ExitError
	kind := wire.ErrTrap
	switch {
	case errors.Is(err, errOverTime):
		kind = wire.ErrTimeout
	case errors.Is(err, engine.ErrClosed):
		kind = wire.ErrUnavailable
	case errors.As(err, &exit):
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			kind = wire.ErrTimeout
		case sys.ExitCodeContextCanceled:
			kind = wire.ErrCanceled
		}
	case ctx.Err() != nil:
		kind = wire.ErrTimeout
	}
	return &wire.CallError{Kind: kind, Err: err, Output: log.String()}
}

// budget is the timeout state of one instance. The yield function, which a
// metered guest calls each time a slice of fuel runs out, finds it in the
// call's context: the first yield of a call reads the clock, later ones stop
// the guest once limit has passed since then (so a guest gets its timeout
// plus at most one slice), or at once when the policy is closing.
type budget struct {
	limit  time.Duration
	start  time.Time // zero until the call's first yield
	closed *atomic.Bool
}

type budgetKey struct{}

var errOverTime = fmt.Errorf("the guest ran past its timeout: %w", context.DeadlineExceeded)

// yield is the host function behind the metered guest's licensehost.yield.
// Its panics end the call: wazero returns them as the call's error, with
// the guest's stack trace.
func yield(ctx context.Context, _ []uint64) {
	b, _ := ctx.Value(budgetKey{}).(*budget)
	if b == nil {
		return
	}
	if b.closed.Load() {
		panic(fmt.Errorf("stopped: %w", engine.ErrClosed))
	}
	now := time.Now()
	if b.start.IsZero() {
		b.start = now
		return
	}
	if now.Sub(b.start) >= b.limit {
		panic(errOverTime)
	}
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

func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.used.Store(true)
	n := min(len(p), w.max-len(w.b))
	w.b = append(w.b, p[:n]...)
	w.dropped += len(p) - n
	return len(p), nil
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
