package hostdir_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/licensehost/licensehost/internal/hostdir"
)

func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tok, err := hostdir.ReadToken(write("ok", "  abc123\n", 0o600))
	if err != nil || tok != "abc123" {
		t.Fatalf("ok: %q %v", tok, err)
	}
	if _, err := hostdir.ReadToken(write("empty", " \n", 0o600)); !errors.Is(err, hostdir.ErrEmptyToken) {
		t.Fatalf("empty: %v", err)
	}
	tok, err = hostdir.ReadToken(write("open", "abc123\n", 0o644))
	if !errors.Is(err, hostdir.ErrTokenFileInsecure) || tok != "abc123" {
		t.Fatalf("insecure: %q %v", tok, err)
	}
	if _, err := hostdir.ReadToken(write("two", "a b\n", 0o600)); err == nil {
		t.Fatal("two words accepted")
	}
	if _, err := hostdir.ReadToken(write("big", strings.Repeat("a", 5000), 0o600)); err == nil {
		t.Fatal("big file accepted")
	}
	if _, err := hostdir.ReadToken(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := hostdir.ReadToken(dir); err == nil {
		t.Fatal("directory accepted")
	}
}

func TestEnsureToken(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "admin.token")
	tok, created, insecure, err := hostdir.EnsureToken(p)
	if err != nil || !created || insecure || len(tok) != 64 {
		t.Fatalf("create: %q %v %v %v", tok, created, insecure, err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	if di, err := os.Stat(filepath.Dir(p)); err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v %v", di.Mode(), err)
	}
	again, created, _, err := hostdir.EnsureToken(p)
	if err != nil || created || again != tok {
		t.Fatalf("second: %q %v %v", again, created, err)
	}
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	if got, _, insecure, err := hostdir.EnsureToken(p); err != nil || !insecure || got != tok {
		t.Fatalf("insecure: %q %v %v", got, insecure, err)
	}
	// A file that is not a token is an error, never overwritten.
	if err := os.WriteFile(p, []byte("two words"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := hostdir.EnsureToken(p); err == nil {
		t.Fatal("a bad token file was accepted")
	}
	if b, _ := os.ReadFile(p); string(b) != "two words" {
		t.Fatalf("token file rewritten: %q", b)
	}
}

// TestEnsureGroupToken: the group-readable token is created 0640 even under
// a umask that takes the group bit away, and only more than 0640 is
// insecure. (The umask is process-wide: this test is not parallel.)
func TestEnsureGroupToken(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	p := filepath.Join(t.TempDir(), "app.token")
	tok, created, insecure, err := hostdir.EnsureGroupToken(p)
	if err != nil || !created || insecure || len(tok) != 64 {
		t.Fatalf("create: %q %v %v %v", tok, created, insecure, err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v %v, want 0640", fi.Mode(), err)
	}
	for _, c := range []struct {
		mode, after os.FileMode
		insecure    bool
	}{{0o640, 0o640, false}, {0o600, 0o640, false}, {0o400, 0o440, false}, {0o644, 0o644, true}, {0o660, 0o660, true}, {0o604, 0o604, true}} {
		if err := os.Chmod(p, c.mode); err != nil {
			t.Fatal(err)
		}
		got, created, insecure, err := hostdir.EnsureGroupToken(p)
		if err != nil || created || got != tok || insecure != c.insecure {
			t.Errorf("mode %04o: %q created=%v insecure=%v %v, want insecure=%v", c.mode, got, created, insecure, err, c.insecure)
		}
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != c.after {
			t.Errorf("mode %04o: afterwards %v %v, want %04o", c.mode, fi.Mode(), err, c.after)
		}
		if err := os.Chmod(p, c.mode); err != nil {
			t.Fatal(err)
		}
		// The admin token's rule stays: any group or other bit is insecure.
		if _, _, insecure, _ := hostdir.EnsureToken(p); insecure != (c.mode&0o077 != 0) {
			t.Errorf("EnsureToken, mode %04o: insecure=%v", c.mode, insecure)
		}
	}
}

func TestDefault(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/xdg")
	if d, err := hostdir.Default(); err != nil || d != "/xdg/licensehost" {
		t.Fatalf("XDG: %q %v", d, err)
	}
	t.Setenv("XDG_DATA_HOME", "relative") // not absolute: ignored
	t.Setenv("HOME", "/home/u")
	if d, err := hostdir.Default(); err != nil || d != "/home/u/.local/share/licensehost" {
		t.Fatalf("HOME: %q %v", d, err)
	}
}
