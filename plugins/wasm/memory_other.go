//go:build !unix

package wasm

import "github.com/tetratelabs/wazero/experimental"

// memoryAllocator nil: wazero's own, in the Go heap.
var memoryAllocator experimental.MemoryAllocator
