package wasm_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/licensehost/licensehost/plugins/wasm"
)

// BenchmarkCall is one decision of the Go-built builtin policy and of the
// WAT one, each under its deadline (wazero's WithCloseOnContextDone, its
// watchdog goroutine per call, the function-entry check). The timeout is
// 10 s so that a pause of the shared machine does not end the run; its
// value does not change the cost.
func BenchmarkCall(b *testing.B) {
	for _, file := range []string{"builtin.wasm", "wat.wasm"} {
		b.Run(file, func(b *testing.B) {
			p := load(b, file, wasm.Config{Timeout: 10 * time.Second})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Decide(ctx, sample); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkModuleStart measures loading the 2 MB Go-built module: compile
// (in the compile child, then here) and first instance, with an empty
// compilation cache (cold) and a warm one.
func BenchmarkModuleStart(b *testing.B) {
	mod, sum := fixture(b, "builtin.wasm")
	ctx := context.Background()
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			dir := b.TempDir()
			p, err := wasm.New(ctx, mod, wasm.Config{SHA256: sum, CacheDir: dir})
			if err != nil {
				b.Fatal(err)
			}
			p.Close(ctx)
			os.RemoveAll(dir)
		}
	})
	b.Run("cached", func(b *testing.B) {
		dir := b.TempDir()
		p, err := wasm.New(ctx, mod, wasm.Config{SHA256: sum, CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		p.Close(ctx)
		for b.Loop() {
			p, err := wasm.New(ctx, mod, wasm.Config{SHA256: sum, CacheDir: dir})
			if err != nil {
				b.Fatal(err)
			}
			p.Close(ctx)
		}
	})
}
