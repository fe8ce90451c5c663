//go:build unix

package wasm

import (
	"context"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

type memoryAllocator = mmapAllocator

func withMemoryAllocator(ctx context.Context, a *mmapAllocator) context.Context {
	return experimental.WithMemoryAllocator(ctx, a)
}

// mmapAllocator backs each guest memory with its own anonymous mapping of
// the memory's maximum size, reserved but not committed (MAP_NORESERVE):
// pages count in RSS only once touched, memory.grow never copies, and a
// discarded instance's memory goes back to the system at once (munmap) —
// with Go-heap memory, each growth copied the whole memory and a discarded
// one stayed in the heap until a collection, so a guest growing to its limit
// on every call kept several limits' worth of RSS (docs/policy-abi.md §3).
//
// One allocator serves one instantiation and remembers the memory it made,
// so the instance can unmap it itself when it is discarded: wazero frees it
// on Close, except after its watchdog closed the module and the call ended
// in a panic (a deadline seen by the host's own checks) — then Close finds
// the module closed and frees nothing.
type mmapAllocator struct{ mem *mmapMemory }

func newMemoryAllocator() *mmapAllocator { return &mmapAllocator{} }

func (a *mmapAllocator) Allocate(_, max uint64) experimental.LinearMemory {
	a.mem = &mmapMemory{}
	if max == 0 {
		return a.mem
	}
	b, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err == nil { // else every Reallocate but to 0 fails: the module does not instantiate
		a.mem.buf = b
	}
	return a.mem
}

// free unmaps the memory; call it only once no guest runs in it.
func (a *mmapAllocator) free() {
	if a != nil && a.mem != nil {
		a.mem.Free()
	}
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

// limitData sets this process's RLIMIT_DATA (the compile child's memory
// limit).
func limitData(n uint64) error {
	return syscall.Setrlimit(syscall.RLIMIT_DATA, &syscall.Rlimit{Cur: n, Max: n})
}
