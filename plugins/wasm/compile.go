package wasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Compiling is bounded in a child process: wazero's decoder allocates by the
// counts a module declares (a few bytes can ask for gigabytes of locals) and
// its compiler takes no cancellation. The child compiles the module under
// a data-size limit (CompileMemory) and is killed at Config.CompileTimeout;
// only a module it compiled is compiled here, through the compilation cache
// it filled when there is one. A program opts in by calling ServeCompile
// first thing in main (cmd/host does); without it the compile runs in
// process and is only abandoned at its timeout (docs/policy-abi.md §3).

// CompileMemory is the data-size limit (RLIMIT_DATA) of the compile child.
// Compiling the 2 MB Go-built example policy peaks at about 55 MB.
const CompileMemory = 512 << 20

const (
	envChild = "LICENSEHOST_WASM_COMPILE_CHILD"
	envPages = "LICENSEHOST_WASM_COMPILE_PAGES"
	envCache = "LICENSEHOST_WASM_COMPILE_CACHE"
	// envNoRlimit makes the child skip setrlimit, for the test of the
	// parent's RSS watch (childEnv).
	envNoRlimit = "LICENSEHOST_WASM_COMPILE_NO_RLIMIT"
)

// childEnv is added to the compile child's environment (tests).
var childEnv []string

var (
	helperMu   sync.Mutex
	helperPath string // this program, when it serves compiles
)

// ServeCompile makes this program the compile child of the policies it
// loads. Call it first thing in main: when the process is such a child, it
// compiles the module on its standard input and exits; otherwise it
// returns.
func ServeCompile() {
	if os.Getenv(envChild) == "1" {
		os.Exit(compileChild())
	}
	exe, err := os.Executable()
	if err != nil {
		return // compile in process
	}
	helperMu.Lock()
	helperPath = exe
	helperMu.Unlock()
}

func compileChild() int {
	// RLIMIT_DATA counts the private writable mappings: the Go heap and
	// wazero's code buffers. Going past it, the runtime fails and exits 2.
	// Where setrlimit is refused (the packaged systemd unit filters
	// @resources system calls), the parent's watch of this process's RSS
	// is the bound.
	if os.Getenv(envNoRlimit) == "1" {
		fmt.Fprintln(os.Stderr, "setrlimit: skipped")
	} else if err := limitData(CompileMemory); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err, "(the parent watches the RSS)")
	}
	debug.SetMemoryLimit(CompileMemory / 2) // collect before the hard limit
	module, err := io.ReadAll(io.LimitReader(os.Stdin, MaxModuleSize+1))
	if err != nil || len(module) > MaxModuleSize {
		fmt.Fprintln(os.Stderr, "reading the module:", err)
		return 3
	}
	pages, err := strconv.ParseUint(os.Getenv(envPages), 10, 32)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad memory pages:", err)
		return 3
	}
	ctx := context.Background()
	rt, cache, err := newRuntime(ctx, uint32(pages), os.Getenv(envCache))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	_, err = rt.CompileModule(withEntryCheck(ctx), module)
	_ = rt.Close(ctx)
	if cache != nil {
		_ = cache.Close(ctx)
	}
	if err != nil {
		fmt.Fprint(os.Stderr, err)
		return 1
	}
	return 0
}

// compileInChild compiles module in a child process when this program
// serves compiles (ServeCompile); it does nothing otherwise.
func compileInChild(ctx context.Context, module []byte, cfg Config) error {
	helperMu.Lock()
	exe := helperPath
	helperMu.Unlock()
	if exe == "" {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.CompileTimeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, exe)
	cmd.Env = append([]string{envChild + "=1", envPages + "=" + strconv.FormatUint(uint64(cfg.MemoryPages), 10), envCache + "=" + cfg.CacheDir}, childEnv...)
	cmd.Stdin = bytes.NewReader(module)
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{b: &stderr, max: 4096}
	cmd.WaitDelay = time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: starting the compile child: %v", ErrCompile, err)
	}
	// Watch the child's RSS as well as its RLIMIT_DATA, which a seccomp
	// filter may have kept it from setting.
	var overMemory atomic.Bool
	watched := make(chan struct{})
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-watched:
				return
			case <-tick.C:
				if rss, ok := residentBytes(cmd.Process.Pid); ok && rss > CompileMemory {
					overMemory.Store(true)
					_ = cmd.Process.Kill()
					return
				}
			}
		}
	}()
	err := cmd.Wait()
	close(watched)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case overMemory.Load():
		return fmt.Errorf("%w: compiling needed more than %d MiB", ErrCompile, CompileMemory>>20)
	case cctx.Err() != nil && ctx.Err() == nil:
		return fmt.Errorf("%w: compiling took longer than %v", ErrCompile, cfg.CompileTimeout)
	case ctx.Err() != nil:
		return fmt.Errorf("compile: %w", ctx.Err())
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return fmt.Errorf("compile: %s", strings.TrimSpace(stderr.String()))
	case errors.As(err, &exit) && strings.Contains(stderr.String(), "out of memory"):
		return fmt.Errorf("%w: compiling needed more than %d MiB", ErrCompile, CompileMemory>>20)
	default:
		return fmt.Errorf("%w: the compile child failed after %v: %v: %s", ErrCompile,
			time.Since(start).Round(time.Millisecond), err, firstLine(stderr.String()))
	}
}

// residentBytes reads a process's resident set size from /proc (Linux);
// ok is false where there is none.
func residentBytes(pid int) (n uint64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * uint64(os.Getpagesize()), true
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (w *limitedBuffer) Write(p []byte) (int, error) {
	if room := w.max - w.b.Len(); room > 0 {
		w.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
