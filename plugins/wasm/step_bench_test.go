package wasm

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
)

// BenchmarkBulkStep times one memory.fill and one memory.copy over a whole
// guest memory of 32 MiB (the default limit) and 1 GiB: one bulk operation
// is one step wazero's interrupt cannot split, so it is what a guest can run
// past its deadline (docs/policy-abi.md §3). Memory from the host's
// allocator, as in a policy; the first fill of a fresh instance also pays
// the page faults.
func BenchmarkBulkStep(b *testing.B) {
	mod, err := os.ReadFile("testdata/onefill.wasm")
	if err != nil {
		b.Fatal(err)
	}
	for _, pages := range []uint32{512, 16384} {
		ctx := withMemoryAllocator(context.Background(), newMemoryAllocator())
		rt, _, err := newRuntime(ctx, pages, "")
		if err != nil {
			b.Fatal(err)
		}
		m, err := rt.InstantiateWithConfig(ctx, mod, wazero.NewModuleConfig())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.ExportedFunction("grow").Call(ctx); err != nil {
			b.Fatal(err)
		}
		for _, op := range []string{"fill", "copy"} {
			b.Run(fmt.Sprintf("%s/%dMiB", op, pages/16), func(b *testing.B) {
				f := m.ExportedFunction(op)
				args := []uint64{}
				if op == "fill" {
					args = []uint64{0xab}
				}
				for b.Loop() {
					if _, err := f.Call(ctx, args...); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		rt.Close(ctx)
	}
}
