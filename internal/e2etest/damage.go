package e2etest

import (
	"os"
	"testing"
)

// Damage harms a store file the way a failing disk or a crash does
// (docs/reliability.md): at frac of its used length — before the zero
// bytes Badger preallocates at the end — or at byte abs when abs > 0, it
// flips 4 bytes (XOR 0xA5), or with cut truncates the file there. Used by
// the storage damage matrix and the daemon's damaged-store tests.
func Damage(t testing.TB, path string, frac float64, abs int, cut bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	used := len(b)
	for used > 0 && b[used-1] == 0 {
		used--
	}
	off := int(float64(used) * frac)
	if abs > 0 {
		off = abs
	}
	if cut {
		if err := os.Truncate(path, int64(off)); err != nil {
			t.Fatal(err)
		}
		return
	}
	off = min(off, used-1)
	if off < 0 {
		return
	}
	for i := off; i < min(off+4, len(b)); i++ {
		b[i] ^= 0xA5
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
