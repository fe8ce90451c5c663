//go:build !unix

package wasm

import (
	"context"

	"github.com/tetratelabs/wazero/experimental"
)

// memoryAllocator: wazero's own, in the Go heap (the collector frees it).
type memoryAllocator struct{}

func newMemoryAllocator() *memoryAllocator { return nil }

func (*memoryAllocator) free() {}

func withMemoryAllocator(ctx context.Context, _ *memoryAllocator) context.Context { return ctx }

var _ = experimental.WithMemoryAllocator

// limitData: no RLIMIT_DATA here; the compile child is bounded in time only.
func limitData(uint64) error { return nil }
