package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/internal/e2etest"
)

// Damaged stores against the real binary (issue 12, defect 8): a damaged
// table or MANIFEST makes the host refuse to start with one line naming the
// data directory and what to do; a damaged write-ahead log tail starts the
// host with a warning saying what was lost. The full file-damage matrix is
// storage's TestFileDamage (make damage-matrix).

// populatedStore runs a host, activates and consumes n, and stops it with
// SIGTERM (closed: everything in tables) or SIGKILL (the last writes only
// in the write-ahead log).
func populatedStore(t *testing.T, kill bool, n int) string {
	t.Helper()
	srv := newLicenseServer(t)
	dir := t.TempDir()
	h := startHost(t, dir, fast(srv, "7", "15")...)
	h.mustActivate(e2eKeyLife)
	for i := range n {
		if _, err := h.client.QuotaConsume(context.Background(), api.QuotaConsumeRequest{Batch: 1, IdempotencyKey: fmt.Sprintf("c-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if kill {
		h.kill()
	} else {
		h.stop()
	}
	return dir
}

func onlyFile(t *testing.T, dir, glob string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, glob))
	if len(m) == 0 {
		t.Fatalf("no %s in %s", glob, dir)
	}
	return m[0]
}

// refusedStart runs the daemon on dir and expects it to exit with one line.
func refusedStart(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command(hostBin, "--listen", "127.0.0.1:0", "--data-dir", dir, "--license-server", "http://127.0.0.1:9")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	switch finished, err := e2etest.RunFor(t, cmd, 30*time.Second); {
	case !finished:
		t.Fatalf("the host neither started nor stopped: %s", stderr.String())
	case err == nil:
		t.Fatal("the host started on a damaged store")
	}
	out := strings.TrimSpace(stderr.String())
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if !strings.Contains(l, "level=") { // log lines of the start before the store
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
		t.Fatalf("want one line, got:\n%s", out)
	}
	line := lines[0]
	if !strings.Contains(line, filepath.Join(dir, "db")) || !strings.Contains(line, "restore a backup") || !strings.Contains(line, "aside") {
		t.Fatalf("the line does not name the directory and what to do: %s", line)
	}
	return line
}

func TestDamagedTableRefusesStart(t *testing.T) {
	dir := populatedStore(t, false, 20)
	e2etest.Damage(t, onlyFile(t, filepath.Join(dir, "db"), "*.sst"), 0.5, 0, false)
	t.Log(refusedStart(t, dir))
}

func TestDamagedManifestRefusesStart(t *testing.T) {
	dir := populatedStore(t, false, 20)
	mf := filepath.Join(dir, "db", "MANIFEST")
	fi, err := os.Stat(mf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(mf, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	t.Log(refusedStart(t, dir))
	// Refusing changed nothing: the tables are all still there.
	if m, _ := filepath.Glob(filepath.Join(dir, "db", "*.sst")); len(m) == 0 {
		t.Fatal("the refused start deleted the tables")
	}
}

func TestDamagedWALTailIsWarned(t *testing.T) {
	dir := populatedStore(t, true, 30)
	e2etest.Damage(t, onlyFile(t, filepath.Join(dir, "db"), "*.mem"), 0.7, 0, false)
	srv := newLicenseServer(t)
	srv.SetDown(true)
	h := startHost(t, dir, fast(srv, "7", "15")...)
	st := h.status()
	h.stop()
	logs := h.stderr.String()
	if st.Usage.Total == 30 {
		t.Skip("the flip hit no acknowledged write")
	}
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "write-ahead log") || !strings.Contains(logs, "lost:") {
		t.Fatalf("usage %d of 30 after the damage, but no warning said what was lost:\n%s", st.Usage.Total, logs)
	}
}

// A store that cannot be written when the daemon stops (a full disk; here
// the data directory removed under it) makes Badger retry its last flush
// for ever. The daemon gives up when its 15 s shutdown timeout ends and
// exits with an error naming it, instead of hanging until it is killed.
func TestShutdownWithUnwritableStore(t *testing.T) {
	dir := t.TempDir()
	h := startHost(t, dir)
	if _, err := h.client.QuotaConsume(context.Background(), api.QuotaConsumeRequest{Batch: 1}); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "db")); err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.done:
	case <-time.After(90 * time.Second):
		t.Fatalf("the daemon did not exit within 90 s of SIGTERM; stderr:\n%s", h.stderr)
	}
	if code := h.cmd.ProcessState.ExitCode(); code == 0 {
		t.Errorf("exit status 0, want an error")
	}
	if !strings.Contains(h.stderr.String(), "closing the store did not finish in time") {
		t.Errorf("stderr does not say why it stopped:\n%s", h.stderr)
	}
}
