// Package goplugin runs quota policies as hashicorp/go-plugin binaries built
// with sdk/plugin. It is the only host package that imports go-plugin.
//
// The binary's sha256 is checked before every start (go-plugin's
// SecureConfig); the handshake is versioned by the policy ABI; calls have a
// timeout; the plugin's unix socket lives under a directory the host gives;
// a plugin that crashes, hangs or breaks its connection is killed and
// restarted on a later call, with exponential backoff; Close kills it and
// waits, so no process outlives the host's policy set. Decisions go over
// the plugin's direct channel (sdk/plugin: a unix socket of its own in its
// socket directory, one call at a time per connection) rather than
// go-plugin's net/rpc, ~4 times cheaper; over net/rpc for a plugin built
// with an sdk that predates the channel.
package goplugin

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/plugins/wire"
	"github.com/licensehost/licensehost/sdk"
	sdkplugin "github.com/licensehost/licensehost/sdk/plugin"
)

// Defaults of Config.
const (
	DefaultTimeout      = 500 * time.Millisecond
	DefaultStartTimeout = 10 * time.Second
	DefaultMinBackoff   = 100 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
	DefaultMaxOutput    = 64 << 10
	DefaultCPUs         = 1
	MaxCPUs             = 1024
	stderrTail          = 4 << 10
)

// ErrConfig: the configuration is invalid.
var ErrConfig = errors.New("invalid plugin policy configuration")

// ErrHashMismatch: the binary's sha256 differs from the one configured.
var ErrHashMismatch = errors.New("plugin sha256 does not match the manifest")

// Config configures one plugin policy. Zero fields take the defaults.
type Config struct {
	Name         string        // names the policy in decisions and logs, e.g. "plugin:tiered"
	Path         string        // the plugin binary
	SHA256       string        // required: hex sha256 of the binary
	SocketDir    string        // parent of the plugin's socket directory; "" = os.TempDir()
	Timeout      time.Duration // per call; a call past it kills the plugin
	StartTimeout time.Duration // start + handshake
	MinBackoff   time.Duration // first restart delay after a failure
	MaxBackoff   time.Duration
	MaxOutput    int // largest encoded answer accepted, bytes
	// CPUs is the GOMAXPROCS the plugin process starts with (DefaultCPUs
	// when zero, at most MaxCPUs): a decision is a small computation, and
	// one core keeps a busy plugin from crowding out the daemon.
	CPUs   int
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.StartTimeout = cmp.Or(c.StartTimeout, DefaultStartTimeout)
	c.MinBackoff = cmp.Or(c.MinBackoff, DefaultMinBackoff)
	c.MaxBackoff = cmp.Or(c.MaxBackoff, DefaultMaxBackoff)
	c.MaxOutput = cmp.Or(c.MaxOutput, DefaultMaxOutput)
	c.CPUs = cmp.Or(c.CPUs, DefaultCPUs)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	if c.Name == "" {
		c.Name = "plugin"
	}
	switch {
	case c.Path == "":
		return fmt.Errorf("%w: path is required", ErrConfig)
	case c.SHA256 == "":
		return fmt.Errorf("%w: sha256 is required", ErrConfig)
	case c.Timeout < 0 || c.StartTimeout < 0 || c.MinBackoff < 0 || c.MaxBackoff < c.MinBackoff:
		return fmt.Errorf("%w: negative timeout or backoff", ErrConfig)
	case c.CPUs < 0 || c.CPUs > MaxCPUs:
		return fmt.Errorf("%w: cpus %d, want 1 to %d", ErrConfig, c.CPUs, MaxCPUs)
	}
	return nil
}

// Policy is a plugin policy; it implements engine.Policy and is safe for
// concurrent use (calls are multiplexed on one connection).
type Policy struct {
	cfg      Config
	checksum []byte

	mu        sync.Mutex
	proc      *process // nil when not running
	closed    bool
	nextStart time.Time
	backoff   time.Duration
	failed    atomic.Bool // a failure happened since the last success
	kills     sync.WaitGroup

	starts atomic.Int64
}

// process is one running plugin.
type process struct {
	sockets string // this process's socket directory, removed after it exits
	client  *goplugin.Client
	rpc     *sdkplugin.RPCClient
	stderr  *tailWriter
	// direct is the socket of the plugin's direct channel (sdk/plugin,
	// docs/policy-abi.md §4), "" when the plugin has none (an older sdk):
	// then calls go over net/rpc. conns holds maxConns entries, each an
	// idle connection to it or nil (a free slot to dial into).
	direct string
	conns  chan *sdkplugin.Conn
	dead   atomic.Bool // killed: connections given back are closed
}

// maxConns bounds the connections of the direct channel, so the concurrent
// calls into one plugin; a call past it waits for a free one within its
// timeout.
const maxConns = 64

var _ engine.Policy = (*Policy)(nil)

// Start verifies the binary and starts the plugin; a plugin that cannot
// start, handshake or be dispensed is refused.
func Start(ctx context.Context, cfg Config) (*Policy, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	sum, err := hex.DecodeString(cfg.SHA256)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("plugin policy %s: %w: sha256 %q is not 64 hex digits", cfg.Name, ErrConfig, cfg.SHA256)
	}
	p := &Policy{cfg: cfg, checksum: sum, backoff: cfg.MinBackoff}
	if err := p.verify(); err != nil {
		return nil, err
	}
	proc, err := p.start(ctx)
	if err != nil {
		return nil, fmt.Errorf("plugin policy %s: %w", cfg.Name, err)
	}
	p.proc = proc
	return p, nil
}

func (p *Policy) verify() error {
	f, err := os.Open(p.cfg.Path)
	if err != nil {
		return fmt.Errorf("plugin policy %s: %w", p.cfg.Name, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("plugin policy %s: %w", p.cfg.Name, err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, p.checksum) {
		return fmt.Errorf("plugin policy %s: %w: binary is %x, manifest says %s", p.cfg.Name, ErrHashMismatch, got, p.cfg.SHA256)
	}
	return nil
}

func (p *Policy) start(ctx context.Context) (*process, error) {
	p.starts.Add(1)
	stderr := &tailWriter{max: stderrTail}
	// go-plugin honours UnixSocketConfig.TempDir only with a custom runner;
	// the plugin side reads PLUGIN_UNIX_SOCKET_DIR, so give it a directory of
	// its own under the host's.
	parent := p.cfg.SocketDir
	if parent == "" {
		parent = os.TempDir()
	}
	sockets, err := os.MkdirTemp(parent, "policy-")
	if err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	cmd := exec.Command(p.cfg.Path)
	cmd.Env = []string{goplugin.EnvUnixSocketDir + "=" + sockets, "GOMAXPROCS=" + strconv.Itoa(p.cfg.CPUs)}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: sdkplugin.Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{
			sdk.ABIVersion: {sdkplugin.Name: &sdkplugin.RPCPlugin{}},
		},
		Cmd:              cmd,
		SecureConfig:     &goplugin.SecureConfig{Checksum: p.checksum, Hash: sha256.New()},
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolNetRPC},
		StartTimeout:     p.cfg.StartTimeout,
		SkipHostEnv:      true,
		Stderr:           stderr, // the process's own stderr (runtime panics)
		SyncStderr:       stderr, // os.Stderr inside the plugin, forwarded by go-plugin
		SyncStdout:       stderr,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:   p.cfg.Name,
			Level:  hclog.Error,
			Output: &slogWriter{l: p.cfg.Logger, policy: p.cfg.Name},
		}),
	})
	fail := func(err error) (*process, error) {
		client.Kill()
		_ = os.RemoveAll(sockets)
		if tail := stderr.String(); tail != "" {
			err = fmt.Errorf("%w; plugin stderr: %q", err, tail)
		}
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	rc, err := client.Client()
	if err != nil {
		return fail(fmt.Errorf("start: %w", err))
	}
	if v := client.NegotiatedVersion(); v != sdk.ABIVersion {
		return fail(fmt.Errorf("plugin negotiated protocol %d, host speaks %d", v, sdk.ABIVersion))
	}
	raw, err := rc.Dispense(sdkplugin.Name)
	if err != nil {
		return fail(fmt.Errorf("dispense: %w", err))
	}
	c, ok := raw.(*sdkplugin.RPCClient)
	if !ok {
		return fail(fmt.Errorf("dispense: unexpected %T", raw))
	}
	proc := &process{sockets: sockets, client: client, rpc: c, stderr: stderr}
	path, err := c.Listen(p.cfg.StartTimeout)
	var serverErr rpc.ServerError
	switch {
	case errors.As(err, &serverErr):
		// A plugin of an older sdk: net/rpc only.
	case err != nil:
		return fail(fmt.Errorf("direct channel: %w", err))
	case filepath.Dir(path) != sockets:
		return fail(fmt.Errorf("direct channel: socket %q outside the plugin's directory %s", path, sockets))
	default:
		proc.direct = path
		proc.conns = make(chan *sdkplugin.Conn, maxConns)
		for range maxConns {
			proc.conns <- nil
		}
	}
	return proc, nil
}

// conn returns the running plugin, starting it when it is down and its
// backoff has passed.
func (p *Policy) conn(ctx context.Context) (*process, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, &wire.CallError{Kind: wire.ErrUnavailable, Err: engine.ErrClosed}
	}
	if p.proc != nil && !p.proc.client.Exited() {
		return p.proc, nil
	}
	if p.proc != nil { // exited between calls
		p.failLocked(p.proc, "plugin exited")
	}
	if wait := time.Until(p.nextStart); wait > 0 {
		return nil, &wire.CallError{Kind: wire.ErrUnavailable, Err: fmt.Errorf("plugin is down, restart in %v", wait.Round(time.Millisecond))}
	}
	if err := p.verify(); err != nil {
		p.scheduleLocked()
		return nil, &wire.CallError{Kind: wire.ErrUnavailable, Err: err}
	}
	proc, err := p.start(ctx)
	if err != nil {
		p.scheduleLocked()
		return nil, &wire.CallError{Kind: wire.ErrUnavailable, Err: fmt.Errorf("restart: %w", err)}
	}
	p.cfg.Logger.Info("policy plugin restarted", "policy", p.cfg.Name)
	p.proc = proc
	return proc, nil
}

// fail kills proc if it is still the running plugin and schedules a restart.
func (p *Policy) fail(proc *process, why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failLocked(proc, why)
}

func (p *Policy) failLocked(proc *process, why string) {
	if p.proc != proc {
		return // already handled
	}
	p.proc = nil
	p.failed.Store(true)
	p.scheduleLocked()
	restartIn := time.Until(p.nextStart).Round(time.Millisecond)
	p.kills.Go(func() {
		proc.kill()
		// After Kill the plugin's stderr has been read to its end.
		p.cfg.Logger.Warn("policy plugin failed and was stopped", "policy", p.cfg.Name, "why", why,
			"restart_in", restartIn, "stderr", proc.stderr.String())
	})
}

// kill stops the process and waits for it, then removes its socket directory.
func (proc *process) kill() {
	proc.dead.Store(true)
	proc.closeIdle()
	proc.client.Kill()
	_ = os.RemoveAll(proc.sockets)
}

// closeIdle closes the idle connections of the direct channel, leaving
// their slots free.
func (proc *process) closeIdle() {
	n := 0
	defer func() {
		for range n {
			proc.conns <- nil
		}
	}()
	for {
		select {
		case c := <-proc.conns:
			if c != nil {
				_ = c.Close()
			}
			n++
		default:
			return
		}
	}
}

func (p *Policy) scheduleLocked() {
	p.nextStart = time.Now().Add(p.backoff)
	p.backoff = min(2*p.backoff, p.cfg.MaxBackoff)
}

// Decide implements engine.Policy. Errors wrap one of the kinds of package
// wire: ErrTimeout (no answer within Config.Timeout: the plugin was killed;
// or every connection to it stayed busy), ErrCrash, ErrTrap (the policy
// function panicked or failed), ErrBadOutput, ErrUnavailable, ErrCanceled.
// Over the direct channel ctx bounds the wait for a connection; a call sent
// ends with its answer or its timeout, as a wasm guest's does.
func (p *Policy) Decide(ctx context.Context, in engine.QuotaInput) (engine.QuotaDecision, error) {
	var d engine.QuotaDecision
	err := p.call(ctx, sdkplugin.OpDecide, func(b []byte) []byte { return wire.AppendInput(b, &in) }, func(out []byte) (err error) {
		d, err = wire.Decision(out, p.cfg.Name)
		return err
	})
	return d, err
}

// Echo sends b through the plugin's echo: the bare cost of a call, for
// benchmarks.
func (p *Policy) Echo(ctx context.Context, b []byte) ([]byte, error) {
	var echo []byte
	err := p.call(ctx, sdkplugin.OpEcho, func(req []byte) []byte { return append(req, b...) }, func(out []byte) error {
		echo = bytes.Clone(out)
		return nil
	})
	return echo, err
}

// call sends the request that encode appends under op and hands the answer
// to use, which must not keep it, through the direct channel when the
// plugin has one, else over net/rpc.
func (p *Policy) call(ctx context.Context, op byte, encode func([]byte) []byte, use func([]byte) error) error {
	proc, err := p.conn(ctx)
	if err != nil {
		return err
	}
	var out []byte
	switch {
	case proc.direct != "":
		return p.callDirect(ctx, proc, op, encode, use)
	case op == sdkplugin.OpEcho:
		out, err = proc.rpc.Echo(ctx, encode(nil), p.cfg.Timeout)
	default:
		out, err = proc.rpc.Decide(ctx, encode(nil), p.cfg.Timeout)
	}
	if err == nil {
		p.succeeded()
		if len(out) > p.cfg.MaxOutput {
			return &wire.CallError{Kind: wire.ErrBadOutput, Err: fmt.Errorf("output of %d bytes exceeds the limit of %d", len(out), p.cfg.MaxOutput)}
		}
		return use(out)
	}
	var serverErr rpc.ServerError
	switch {
	case ctx.Err() != nil:
		// The caller gave up; the plugin is not at fault.
		return &wire.CallError{Kind: wire.ErrCanceled, Err: ctx.Err()}
	case errors.Is(err, context.DeadlineExceeded):
		return p.timedOut(proc)
	case errors.As(err, &serverErr):
		return &wire.CallError{Kind: wire.ErrTrap, Err: err}
	default:
		return p.crashed(proc, err)
	}
}

// callDirect is call through the direct channel: a connection of the pool,
// with the call's deadline.
func (p *Policy) callDirect(ctx context.Context, proc *process, op byte, encode func([]byte) []byte, use func([]byte) error) error {
	if err := ctx.Err(); err != nil {
		return &wire.CallError{Kind: wire.ErrCanceled, Err: err}
	}
	deadline := time.Now().Add(p.cfg.Timeout)
	c, err := p.acquire(ctx, proc, deadline)
	if err != nil {
		return err
	}
	if c == nil {
		if c, err = sdkplugin.Dial(proc.direct); err != nil {
			proc.conns <- nil
			return p.crashed(proc, fmt.Errorf("direct channel: %w", err))
		}
	}
	// ctx bounds the wait for a connection, not the call: a call sent is
	// bounded by its deadline, as a wasm guest's (a watch on ctx per call,
	// context.AfterFunc, cost ~2 µs of a ~20 µs call).
	interrupted := false
	defer func() { proc.release(c, interrupted) }()
	out, err := c.Call(op, encode(c.Request()), deadline, p.cfg.MaxOutput)
	if err == nil {
		p.succeeded()
		return use(out)
	}
	var remote sdkplugin.RemoteError
	switch {
	case errors.As(err, &remote):
		return &wire.CallError{Kind: wire.ErrTrap, Err: err}
	case errors.Is(err, sdkplugin.ErrTooLarge):
		interrupted = true
		return &wire.CallError{Kind: wire.ErrBadOutput, Err: err}
	case errors.Is(err, os.ErrDeadlineExceeded):
		interrupted = true
		return p.timedOut(proc)
	default:
		interrupted = true
		return p.crashed(proc, err)
	}
}

// acquire takes a connection (nil: a free slot to dial into) of proc's
// direct channel, waiting for one no later than deadline or the end of ctx.
func (p *Policy) acquire(ctx context.Context, proc *process, deadline time.Time) (*sdkplugin.Conn, error) {
	select {
	case c := <-proc.conns:
		return c, nil
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case c := <-proc.conns:
		return c, nil
	case <-t.C:
		// Every connection is busy: the plugin is slow or flooded, each
		// of its calls bounded by its own deadline.
		return nil, &wire.CallError{Kind: wire.ErrTimeout, Err: fmt.Errorf("no connection to the plugin came free within %v", p.cfg.Timeout)}
	case <-ctx.Done():
		return nil, &wire.CallError{Kind: wire.ErrCanceled, Err: ctx.Err()}
	}
}

// release gives c back to proc's pool, or closes it (and frees its slot)
// when it is out of step or the process is gone.
func (proc *process) release(c *sdkplugin.Conn, broken bool) {
	if broken || proc.dead.Load() {
		_ = c.Close()
		proc.conns <- nil
		return
	}
	proc.conns <- c
	if proc.dead.Load() { // killed meanwhile: kill may have drained already
		proc.closeIdle()
	}
}

// succeeded resets the restart backoff after a failure.
func (p *Policy) succeeded() {
	if p.failed.Load() {
		p.mu.Lock()
		p.backoff = p.cfg.MinBackoff
		p.failed.Store(false)
		p.mu.Unlock()
	}
}

func (p *Policy) timedOut(proc *process) error {
	p.fail(proc, "call timed out")
	return &wire.CallError{Kind: wire.ErrTimeout, Err: fmt.Errorf("no answer within %v; plugin killed", p.cfg.Timeout)}
}

func (p *Policy) crashed(proc *process, err error) error {
	p.fail(proc, err.Error())
	return &wire.CallError{Kind: wire.ErrCrash, Err: err, Output: proc.stderr.String()}
}

// Close implements engine.Policy: it kills the plugin and waits until every
// plugin process it started has exited (or ctx ends).
func (p *Policy) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	if p.proc != nil {
		proc := p.proc
		p.proc = nil
		p.kills.Go(proc.kill)
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.kills.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Starts returns how many times the plugin process was started.
func (p *Policy) Starts() int64 { return p.starts.Load() }

// Name returns the policy's name.
func (p *Policy) Name() string { return p.cfg.Name }

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (w *tailWriter) Write(b []byte) (int, error) {
	if bytes.HasPrefix(b, []byte(`{"@level":"debug"`)) || bytes.HasPrefix(b, []byte(`{"@level":"trace"`)) ||
		bytes.Contains(b, []byte("[DEBUG] plugin")) {
		return len(b), nil // go-plugin's own chatter from the plugin side
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, b...)
	if over := len(w.b) - w.max; over > 0 {
		w.b = append(w.b[:0], w.b[over:]...)
	}
	return len(b), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.TrimSpace(string(w.b))
}

// slogWriter forwards go-plugin's hclog lines to slog at warning level.
type slogWriter struct {
	l      *slog.Logger
	policy string
}

func (w *slogWriter) Write(b []byte) (int, error) {
	w.l.Warn("go-plugin", "policy", w.policy, "log", strings.TrimSpace(string(b)))
	return len(b), nil
}
