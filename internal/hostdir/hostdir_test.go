package hostdir_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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
