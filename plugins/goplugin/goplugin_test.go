package goplugin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/e2etest"
	"github.com/licensehost/licensehost/plugins/goplugin"
	"github.com/licensehost/licensehost/plugins/policytest"
	"github.com/licensehost/licensehost/plugins/wire"
)

var binDir string

// TestMain builds the plugin binaries once per test binary.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "goplugin")
	if err != nil {
		panic(err)
	}
	binDir = dir
	for name, pkg := range map[string]string{
		"builtin":    "github.com/licensehost/licensehost/sdk/examples/builtin",
		"hostile":    "./testdata/hostile",
		"netrpconly": "./testdata/netrpconly",
		"hanglisten": "./testdata/badlisten",
		"farlisten":  "./testdata/badlisten",
	} {
		if _, err := e2etest.Build(dir, name, pkg, "-trimpath"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func sum(t testing.TB, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func start(t testing.TB, name string, cfg goplugin.Config) *goplugin.Policy {
	t.Helper()
	cfg.Path = filepath.Join(binDir, name)
	if cfg.SHA256 == "" {
		cfg.SHA256 = sum(t, cfg.Path)
	}
	cfg.Name = "plugin:" + name
	p, err := goplugin.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

var sample = policytest.Sample

func TestConformance(t *testing.T) {
	p := start(t, "builtin", goplugin.Config{})
	if !p.Direct() {
		t.Error("the sdk's plugin offers no direct channel")
	}
	policytest.Run(t, p)
	if d, _ := p.Decide(context.Background(), sample); d.Policy != "plugin:builtin" {
		t.Errorf("policy name %q", d.Policy)
	}
}

// A plugin that does not answer Plugin.Listen is refused within the start
// timeout instead of hanging Start (and every restart, under the policy's
// lock).
func TestListenHangRefused(t *testing.T) {
	path := filepath.Join(binDir, "hanglisten")
	start := time.Now()
	_, err := goplugin.Start(context.Background(), goplugin.Config{Path: path, SHA256: sum(t, path), StartTimeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "direct channel") {
		t.Fatalf("error %v, want a refusal naming the direct channel", err)
	}
	t.Logf("refused after %v: %v", time.Since(start), err)
}

// A plugin that answers Plugin.Listen with a socket outside the directory
// the host gave it is refused.
func TestListenElsewhereRefused(t *testing.T) {
	path := filepath.Join(binDir, "farlisten")
	_, err := goplugin.Start(context.Background(), goplugin.Config{Path: path, SHA256: sum(t, path)})
	if err == nil || !strings.Contains(err.Error(), "outside the plugin's directory") {
		t.Fatalf("error %v, want a refusal of the socket", err)
	}
}

// A caller whose context has ended gets ErrCanceled, and the plugin is not
// at fault.
func TestCanceledCaller(t *testing.T) {
	p := start(t, "builtin", goplugin.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Decide(ctx, sample); !errors.Is(err, wire.ErrCanceled) {
		t.Fatalf("error %v, want canceled", err)
	}
	if d, err := p.Decide(context.Background(), sample); err != nil || !d.Allowed || p.Starts() != 1 {
		t.Errorf("after a canceled call: %s, %v, starts %d", policytest.Format(d), err, p.Starts())
	}
}

// A plugin built before the direct channel (net/rpc only) still decides,
// over net/rpc.
func TestNetRPCOnlyPlugin(t *testing.T) {
	p := start(t, "netrpconly", goplugin.Config{})
	if p.Direct() {
		t.Fatal("direct channel with a plugin that has none")
	}
	policytest.Run(t, p)
	if b, err := p.Echo(context.Background(), []byte("abc")); err != nil || string(b) != "abc" {
		t.Errorf("echo: %q, %v", b, err)
	}
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

func TestCrashMidCallRestarts(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	p := start(t, "hostile", goplugin.Config{MinBackoff: time.Millisecond, Logger: logger})
	pid := p.Pid()
	in := sample
	in.Resource = "crash"
	_, err := p.Decide(context.Background(), in)
	if !errors.Is(err, wire.ErrCrash) {
		t.Fatalf("crash: error %v, want crash", err)
	}
	time.Sleep(5 * time.Millisecond) // the backoff
	d, err := p.Decide(context.Background(), sample)
	if err != nil || !d.Allowed {
		t.Fatalf("after the crash: %s, %v", policytest.Format(d), err)
	}
	if p.Starts() != 2 || p.Pid() == pid {
		t.Errorf("starts %d, pid %d → %d: want a restarted process", p.Starts(), pid, p.Pid())
	}
	p.Close(context.Background()) // waits for the kill, which logs
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "policy plugin failed and was stopped") || !strings.Contains(logs.String(), "hostile: crashing mid-call") {
		t.Errorf("log does not explain the crash:\n%s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func TestHangIsKilled(t *testing.T) {
	p := start(t, "hostile", goplugin.Config{Timeout: 100 * time.Millisecond, MinBackoff: time.Hour, MaxBackoff: time.Hour})
	pid := p.Pid()
	in := sample
	in.Resource = "hang"
	if _, err := p.Decide(context.Background(), in); !errors.Is(err, wire.ErrTimeout) {
		t.Fatalf("hang: error %v, want timeout", err)
	}
	// Within the backoff the policy answers unavailable at once.
	if _, err := p.Decide(context.Background(), sample); !errors.Is(err, wire.ErrUnavailable) {
		t.Fatalf("during backoff: %v, want unavailable", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(pid) {
		t.Errorf("hung plugin %d still running", pid)
	}
}

func TestPolicyErrors(t *testing.T) {
	p := start(t, "hostile", goplugin.Config{MaxOutput: 4096})
	for res, kind := range map[string]error{"panic": wire.ErrTrap, "big": wire.ErrBadOutput, "badreason": wire.ErrBadOutput} {
		in := sample
		in.Resource = res
		if _, err := p.Decide(context.Background(), in); !errors.Is(err, kind) {
			t.Errorf("%s: error %v, want %v", res, err, kind)
		}
	}
	if d, err := p.Decide(context.Background(), sample); err != nil || p.Starts() != 1 {
		t.Errorf("after policy errors: %s, %v, starts %d", policytest.Format(d), err, p.Starts())
	}
}

func TestCloseLeavesNoProcess(t *testing.T) {
	sockets := t.TempDir()
	p := start(t, "builtin", goplugin.Config{SocketDir: sockets})
	pid := p.Pid()
	if !alive(pid) {
		t.Fatalf("plugin pid %d not running", pid)
	}
	if entries, _ := os.ReadDir(sockets); len(entries) != 1 {
		t.Errorf("want one socket directory under the host's %s, have %v", sockets, entries)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Errorf("plugin %d survived Close", pid)
	}
	if entries, _ := os.ReadDir(sockets); len(entries) != 0 {
		t.Errorf("socket directory left behind: %v", entries)
	}
	if _, err := p.Decide(context.Background(), sample); !errors.Is(err, wire.ErrUnavailable) {
		t.Errorf("Decide after Close: %v", err)
	}
}

func TestHashMismatchRefused(t *testing.T) {
	_, err := goplugin.Start(context.Background(), goplugin.Config{
		Path: filepath.Join(binDir, "builtin"), SHA256: strings.Repeat("ab", 32)})
	if !errors.Is(err, goplugin.ErrHashMismatch) {
		t.Fatalf("error %v, want ErrHashMismatch", err)
	}
}

func TestConcurrent(t *testing.T) {
	p := start(t, "builtin", goplugin.Config{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				in := sample
				in.Used = int64(g*100 + i)
				if d, err := p.Decide(context.Background(), in); err != nil || d.Allowed != engine.DecideBuiltin(in).Allowed {
					t.Errorf("%s, %v", policytest.Format(d), err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// More concurrent callers than the direct channel has connections (64):
// the ones past it wait for a free connection, within their timeout.
func TestMoreCallersThanConnections(t *testing.T) {
	p := start(t, "builtin", goplugin.Config{Timeout: 10 * time.Second})
	var wg sync.WaitGroup
	for g := range 150 {
		wg.Go(func() {
			for i := range 4 {
				in := sample
				in.Used = int64(g*10 + i)
				if d, err := p.Decide(context.Background(), in); err != nil || d.Allowed != engine.DecideBuiltin(in).Allowed {
					t.Errorf("%s, %v", policytest.Format(d), err)
					return
				}
			}
		})
	}
	wg.Wait()
	if p.Starts() != 1 {
		t.Errorf("%d starts, want 1", p.Starts())
	}
}

// The plugin process starts with GOMAXPROCS from Config.CPUs (1 unless
// set), and none of the host's environment.
func TestPluginEnvironment(t *testing.T) {
	t.Setenv("LICENSEHOST_TEST_CANARY", "host-secret")
	for _, c := range []struct {
		cpus int
		want string
	}{{0, "GOMAXPROCS=1"}, {3, "GOMAXPROCS=3"}} {
		p := start(t, "builtin", goplugin.Config{CPUs: c.cpus})
		if _, err := p.Decide(context.Background(), sample); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.Pid()))
		if err != nil {
			t.Fatal(err)
		}
		env := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if !slices.Contains(env, c.want) {
			t.Errorf("cpus %d: plugin environment %q, want %s", c.cpus, env, c.want)
		}
		for _, v := range env {
			if slices.Contains(os.Environ(), v) {
				t.Errorf("cpus %d: the host's %q reached the plugin", c.cpus, v)
			}
		}
	}
	if _, err := goplugin.Start(context.Background(), goplugin.Config{Path: "x", SHA256: "ab", CPUs: -1}); !errors.Is(err, goplugin.ErrConfig) {
		t.Errorf("cpus -1: %v, want ErrConfig", err)
	}
}
