// Package e2etest runs the project's real binaries in end-to-end tests: it
// builds a binary (once per test binary), starts it with arguments and an
// environment, waits until it says where it listens, captures its stderr,
// and stops it when the test ends. docs/CONTRIBUTING.md says when to use it.
package e2etest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine/enginetest"
)

// StartWait is how long Start waits for a daemon's "listening on" line:
// generous, for a loaded CI machine; a daemon that exits fails at once.
const StartWait = 60 * time.Second

// StopWait is how long Stop waits after SIGTERM before it kills.
const StopWait = 20 * time.Second

// Build compiles the Go package pkg (as `go build` names it, relative to the
// test's package directory) with CGO_ENABLED=0 and the extra build flags
// into dir/name and returns that path. The error carries the compiler's
// output.
func Build(dir, name, pkg string, flags ...string) (string, error) {
	bin := filepath.Join(dir, name)
	args := append(append([]string{"build"}, flags...), "-o", bin, pkg)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", name, err, out)
	}
	return bin, nil
}

// Lazy builds a binary the first time a test asks for it (for binaries only
// some tests need), once per test binary.
type Lazy struct {
	once sync.Once
	bin  string
	err  error
}

// Get builds (the first time) and returns the binary; a build failure
// fails t, and every later caller.
func (l *Lazy) Get(t testing.TB, dir, name, pkg string, flags ...string) string {
	t.Helper()
	l.once.Do(func() { l.bin, l.err = Build(dir, name, pkg, flags...) })
	if l.err != nil {
		t.Fatal(l.err)
	}
	return l.bin
}

// Daemon is a started binary.
type Daemon struct {
	Cmd    *exec.Cmd
	URL    string                 // from its "listening on http://…" line
	Stderr *enginetest.SyncBuffer // everything it wrote to stderr so far
	Done   <-chan struct{}        // closed once it has exited
}

// ListenRE matches the line a daemon prints once it listens; the first
// group is its base URL.
var ListenRE = regexp.MustCompile(`listening on (http://\S+)`)

// Start runs bin with args, env added to this process's environment, and
// waits for the "listening on URL" line a daemon prints on stdout. It fails
// t if the process exits first or StartWait passes. When t ends the daemon
// is stopped (Stop) and, if t failed, its stderr is logged.
func Start(t testing.TB, bin string, env []string, args ...string) *Daemon {
	t.Helper()
	name := filepath.Base(bin)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = daemonAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	d := &Daemon{Cmd: cmd, Stderr: &enginetest.SyncBuffer{}, Done: done}
	cmd.Stderr = d.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(done) }()
	urlCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := ListenRE.FindStringSubmatch(sc.Text()); m != nil {
				urlCh <- m[1]
			}
		}
	}()
	select {
	case d.URL = <-urlCh:
	case <-done:
		t.Fatalf("%s exited at start: %s", name, d.Stderr.String())
	case <-time.After(StartWait):
		d.Kill()
		t.Fatalf("%s did not start: %s", name, d.Stderr.String())
	}
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, d.Stderr.String())
		}
	})
	return d
}

// Stop ends the daemon as a service manager would: SIGTERM, then a kill if
// it has not exited within StopWait. It returns at once if it has exited.
func (d *Daemon) Stop() {
	select {
	case <-d.Done:
		return
	default:
	}
	_ = d.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.Done:
	case <-time.After(StopWait):
		d.Kill()
	}
}

// Kill kills the daemon (no clean shutdown) and waits until it has exited.
func (d *Daemon) Kill() {
	_ = d.Cmd.Process.Kill()
	<-d.Done
}

// Request sends one request (body may be nil) with the bearer token, if
// any, and returns the answer's status and body. It fails t if no answer
// comes within 30 s.
func Request(t testing.TB, method, url, token string, body []byte) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
