package wasm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// FuzzBoundTables: boundTables never panics, and wazero compiles the module
// it returns exactly when it compiles the original (the rewrite of the
// table section changes no meaning but the maxima). Seeds: every fixture.
func FuzzBoundTables(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.wasm"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	// compiles reports whether wazero compiles b, or ok=false when it takes
	// over a second: wazero's decoder allocates by declared counts, and a
	// mutated count can make it work for long (what the compile child
	// bounds in the host).
	compiles := func(b []byte) (compiled, ok bool) {
		done := make(chan bool, 1)
		go func() {
			m, err := rt.CompileModule(ctx, b)
			if err == nil {
				m.Close(ctx)
			}
			done <- err == nil
		}()
		select {
		case c := <-done:
			return c, true
		case <-time.After(time.Second):
			return false, false
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		out, err := boundTables(b)
		if !bytes.Equal(b, orig) {
			t.Fatal("boundTables modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrTables) {
				t.Fatalf("error %v does not wrap ErrTables", err)
			}
			return
		}
		if bytes.Equal(out, b) {
			return
		}
		a, ok1 := compiles(b)
		o, ok2 := compiles(out)
		if !ok1 || !ok2 {
			t.Skip("wazero took over a second")
		}
		if a != o {
			t.Fatalf("wazero compiles the original: %v, the bounded module: %v", a, o)
		}
		if again, err := boundTables(out); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("bounding twice changed the module again (%v)", err)
		}
	})
}

func TestBoundTables(t *testing.T) {
	head := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	table := func(content ...byte) []byte {
		return append(append(bytes.Clone(head), sectionTable, byte(len(content))), content...)
	}
	for _, c := range []struct {
		name string
		in   []byte
		want []byte // nil: refused
	}{
		{"no maximum gets its minimum", table(1, 0x70, 0x00, 5), table(1, 0x70, 0x01, 5, 5)},
		{"a maximum is kept", table(1, 0x6f, 0x01, 1, 9), table(1, 0x6f, 0x01, 1, 9)},
		{"padded LEB128 read as wazero does", table(1, 0x70, 0x01, 0x81, 0x80, 0x80, 0x80, 0x00, 0x82, 0x00), table(1, 0x70, 0x01, 1, 2)},
		{"over the cap", table(1, 0x70, 0x01, 0, 0x81, 0x80, 0x40), nil},
		{"two tables over the cap together", table(2, 0x70, 0x01, 0, 0x80, 0x80, 0x20, 0x70, 0x01, 0, 0x80, 0x80, 0x21), nil},
		{"no maximum over the cap", table(1, 0x70, 0x00, 0x80, 0x80, 0x80, 0x40), nil},
		{"typed reference", table(1, 0x63, 0x70, 0x00, 1), nil},
		{"initialiser", table(1, 0x40, 0x00, 0x70, 0x00, 1), nil},
		{"shared", table(1, 0x70, 0x03, 1, 1), nil},
		{"truncated section left to wazero", table(2, 0x70, 0x00), table(2, 0x70, 0x00)},
		{"no table section", head, head},
	} {
		got, err := boundTables(c.in)
		switch {
		case c.want == nil && err == nil:
			t.Errorf("%s: accepted as % x", c.name, got)
		case c.want != nil && (err != nil || !bytes.Equal(got, c.want)):
			t.Errorf("%s: % x, %v; want % x", c.name, got, err, c.want)
		}
	}
}
