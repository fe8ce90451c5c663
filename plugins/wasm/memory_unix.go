//go:build unix

package wasm

import (
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// mmapAllocator backs each guest memory with its own anonymous mapping of
// the memory's maximum size, reserved but not committed (MAP_NORESERVE):
// pages count in RSS only once touched, memory.grow never copies, and a
// discarded instance's memory goes back to the system at once (munmap) —
// with Go-heap memory, each growth copied the whole memory and a discarded
// one stayed in the heap until a collection, so a guest growing to its limit
// on every call kept several limits' worth of RSS (docs/policy-abi.md §3).
type mmapAllocator struct{}

func (mmapAllocator) Allocate(_, max uint64) experimental.LinearMemory {
	if max == 0 {
		return &mmapMemory{}
	}
	b, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return &mmapMemory{} // every Reallocate but to 0 fails: the module does not instantiate
	}
	return &mmapMemory{buf: b}
}

type mmapMemory struct{ buf []byte }

func (m *mmapMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size:size]
}

func (m *mmapMemory) Free() {
	if m.buf != nil {
		_ = syscall.Munmap(m.buf)
		m.buf = nil
	}
}

var memoryAllocator experimental.MemoryAllocator = mmapAllocator{}
