package wasm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// runner instantiates a module in a fresh runtime with the env imports of
// features.wasm and a yield that counts its calls and, past stopAfter,
// stops the guest.
type runner struct {
	rt        wazero.Runtime
	mod       api.Module
	yields    int
	stopAfter int
}

var errStopped = errors.New("stopped by the test's yield")

func newRunner(t *testing.T, module []byte) *runner {
	t.Helper()
	ctx := context.Background()
	r := &runner{rt: wazero.NewRuntime(ctx), stopAfter: -1}
	t.Cleanup(func() { r.rt.Close(ctx) })
	_, err := r.rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func(x int32) int32 { return x + 1 }).Export("add1").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// wazero's host modules have no globals: "globals" is a tiny module
	// exporting g0 = 7.
	_, err = r.rt.InstantiateWithConfig(ctx, []byte(
		"\x00asm\x01\x00\x00\x00"+
			"\x06\x06\x01\x7f\x00\x41\x07\x0b"+ // global i32 (i32.const 7)
			"\x07\x06\x01\x02g0\x03\x00"), // export "g0" global 0
		wazero.NewModuleConfig().WithName("globals"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.rt.NewHostModuleBuilder(meterModule).
		NewFunctionBuilder().WithFunc(func() {
		r.yields++
		if r.stopAfter >= 0 && r.yields > r.stopAfter {
			panic(errStopped)
		}
	}).Export(meterYield).Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.mod, err = r.rt.InstantiateWithConfig(ctx, module, wazero.NewModuleConfig().WithName("guest"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *runner) call(name string, args ...uint64) ([]uint64, error) {
	return r.mod.ExportedFunction(name).Call(context.Background(), args...)
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The metered module computes what the original computes, export by export.
func TestMeterKeepsBehaviour(t *testing.T) {
	orig := readFixture(t, "features.wasm")
	metered, err := meter(orig)
	if err != nil {
		t.Fatal(err)
	}
	a, b := newRunner(t, orig), newRunner(t, metered)
	for _, c := range []struct {
		name string
		args []uint64
	}{
		{"started", nil}, {"imported_global", nil},
		{"sum", []uint64{100}}, {"fib", []uint64{20}},
		{"indirect", []uint64{0, 21}}, {"indirect", []uint64{1, 9}}, {"indirect", []uint64{2, 9}},
		{"indirect2", []uint64{0, 5}}, {"indirect2", []uint64{1, 5}},
		{"table_init", []uint64{10}}, {"global_ref", []uint64{11}}, {"ref_func", []uint64{12}},
		{"switch", []uint64{0}}, {"switch", []uint64{1}}, {"switch", []uint64{2}}, {"switch", []uint64{9}},
		{"simd", nil}, {"bulk", nil},
	} {
		want, errA := a.call(c.name, c.args...)
		got, errB := b.call(c.name, c.args...)
		if errA != nil || errB != nil || len(got) != 1 || got[0] != want[0] {
			t.Errorf("%s%v: metered %v (%v), original %v (%v)", c.name, c.args, got, errB, want, errA)
		}
	}
	// Traps keep the guest's function names (the name section is renumbered).
	_, errA := a.call("trap_here")
	_, errB := b.call("trap_here")
	if errA == nil || errB == nil || !strings.Contains(errB.Error(), "trap_here") {
		t.Errorf("trap: metered %v; original %v", errB, errA)
	}
	if a.yields != 0 || b.yields != 0 {
		t.Errorf("short calls yielded: %d, %d", a.yields, b.yields)
	}
}

// Loops and loop-free recursion both come back to the host, and a yield that
// refuses to go on ends the call with its error.
func TestMeterYields(t *testing.T) {
	metered, err := meter(readFixture(t, "features.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []uint64
	}{{"spin", nil}, {"fib", []uint64{60}}} {
		r := newRunner(t, metered)
		r.stopAfter = 3
		_, err := r.call(c.name, c.args...)
		if !errors.Is(err, errStopped) || r.yields != 4 {
			t.Errorf("%s: error %v after %d yields; want it stopped at the 4th", c.name, err, r.yields)
		}
	}
}

func TestMeterEveryFixture(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.wasm"))
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	for _, f := range files {
		orig := readFixture(t, filepath.Base(f))
		metered, err := meter(orig)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if _, err := rt.CompileModule(ctx, metered); err != nil {
			t.Errorf("%s: metered module does not compile: %v", f, err)
		}
		t.Logf("%s: %d → %d bytes", filepath.Base(f), len(orig), len(metered))
	}
}

func TestMeterRefuses(t *testing.T) {
	loop := readFixture(t, "loop.wasm")
	for _, c := range []struct {
		name   string
		module []byte
		want   string
	}{
		{"empty", nil, "not a WebAssembly"},
		{"component", []byte("\x00asm\x0d\x00\x01\x00"), "not a WebAssembly"},
		{"truncated", loop[:len(loop)-3], "malformed"},
		{"shared memory", []byte("\x00asm\x01\x00\x00\x00\x02\x09\x01\x01e\x01m\x02\x03\x01\x01"), "unsupported limits"},
		{"tail call", module(0x12, 0x00), "unsupported instruction 0x12"},
		{"atomics", module(0xfe, 0x03, 0x00), "unsupported instruction 0xfe"},
		// Invalid as it is, but the metered module has a global 0, the
		// fuel: a guest must not get to set it.
		{"sets the fuel", module(0x41, 0x00, 0x24, 0x00), "global index 0 out of range"},
		{"reads the fuel", module(0x23, 0x00, 0x1a), "global index 0 out of range"},
		{"huge table", []byte("\x00asm\x01\x00\x00\x00\x04\x07\x01\x70\x00\x80\x80\x80\x08"), "exceeds"},
		{"huge params", []byte("\x00asm\x01\x00\x00\x00\x01\x10\x03`\xb1\xb1\xb1\x7f\xff\xff\xff0000000"), "vector longer"},
		{"huge locals", withLocals(0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f), "locals exceed"},
		{"huge data", []byte("\x00asm\x01\x00\x00\x00\x05\x03\x01\x00\x01\x0b\x0a\x01\x01\xff\xff\xff\xff\x0f\x00\x00\x00"), "vector longer"},
		// A data section declaring ~100 million segments in 40 bytes.
		{"huge count", []byte("\x00asm\x01\x00\x00\x00\x0b\x28\xd5\xeb\xba\x30" + strings.Repeat("0", 36)), "declares"},
	} {
		_, err := meter(c.module)
		if !errors.Is(err, errMeter) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want errMeter with %q", c.name, err, c.want)
		}
	}
	exported, err := meter(loop)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := meter(exported); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("metering a metered module: %v, want refused", err)
	}
}

// withLocals is a one-function module declaring one group of locals (its
// count's LEB bytes, then the type) and an empty body.
func withLocals(group ...byte) []byte {
	body := append(append([]byte{0x01}, group...), 0x0b)
	b := []byte("\x00asm\x01\x00\x00\x00" + "\x01\x04\x01\x60\x00\x00" + "\x03\x02\x01\x00")
	b = append(b, 0x0a, byte(len(body)+2), 0x01, byte(len(body)))
	return append(b, body...)
}

// module is a one-function module whose body is code then end.
func module(code ...byte) []byte {
	body := append([]byte{0x00}, append(code, 0x0b)...)
	b := []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x04\x01\x60\x00\x00" + // type () -> ()
		"\x03\x02\x01\x00") // one function of type 0
	b = append(b, 0x0a, byte(len(body)+2), 0x01, byte(len(body)))
	return append(b, body...)
}

// withoutCustom is module b without its custom sections (b if malformed).
func withoutCustom(b []byte) []byte {
	r := &reader{b: b, off: len(wasmMagic)}
	w := &writer{}
	w.raw(b[:min(len(b), len(wasmMagic))])
	for r.err == nil && r.off < len(r.b) {
		start := r.off
		id := r.byte()
		r.bytes(int(r.u32()))
		if r.err == nil && id != secCustom {
			w.raw(b[start:r.off])
		}
	}
	if r.err != nil {
		return b
	}
	return w.b
}

// Whatever the bytes, meter does not panic, and a module wazero compiles
// either meters into one wazero compiles or is refused with errMeter.
func FuzzMeter(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.wasm"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	f.Fuzz(func(t *testing.T, b []byte) {
		metered, err := meter(b)
		if err != nil {
			if !errors.Is(err, errMeter) {
				t.Fatalf("error without errMeter: %v", err)
			}
			return
		}
		// wazero takes its time over some malformed name sections (which
		// meter drops) and refuses custom sections with names that are
		// not UTF-8 (which meter keeps): compare both without custom
		// sections. TestMeterKeepsBehaviour checks the renumbered names.
		if _, err := rt.CompileModule(ctx, withoutCustom(b)); err != nil {
			return // invalid to begin with: wazero refuses the metered one too
		}
		if _, err := rt.CompileModule(ctx, withoutCustom(metered)); err != nil {
			t.Fatalf("valid module metered into an invalid one: %v", err)
		}
	})
}

// BenchmarkMeter rewrites the 2 MB Go-built module (part of every load:
// the compilation cache is keyed by the metered bytes).
func BenchmarkMeter(b *testing.B) {
	mod := readFixture(b, "builtin.wasm")
	b.SetBytes(int64(len(mod)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := meter(mod); err != nil {
			b.Fatal(err)
		}
	}
}
