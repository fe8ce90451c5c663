package main

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The daemon runs with a garbage collector target of defaultGCPercent
// (GOGC=200) and a soft memory limit of defaultMemoryLimit, unless GOGC and
// GOMEMLIMIT say otherwise. A quota check leaves ~2 MiB of live heap, so at
// Go's default GOGC=100 the heap goal is the runtime's 4 MiB floor and the
// daemon collected about once every 1 000 checks, each collection scanning
// the stacks of Badger's goroutines and the binary's globals whatever the
// heap: 4.4 ms of CPU per 1 000 checks at GOGC=100, 1.7 at 200, 0.9 at 400
// (GODEBUG=gctrace=1 under make bench-http's load; docs/reliability.md,
// memory). 200 costs ~3 MiB more RSS while checks run (31 MiB against 28)
// and nothing after a burst of writes, which the limit bounds; 400 would
// cost another 1.7 MiB for another 0.8 µs a check. GOGC=50 cost ~15 % more
// CPU per check.
// The limit costs nothing in steady use — the live heap is far below it —
// and bounds a burst: Badger's compactions build tables of several MiB
// each, and without a limit the heap grows to three times its peak
// (docs/reliability.md, memory).
//
// What the daemon does besides is give back, once it is idle, the memory a
// burst of work left behind: Badger's table builds (flushes and compactions)
// allocate several MiB each and Badger keeps up to eight builder buffers
// pooled, releasing one per 2 s of disuse; the Go runtime then holds the
// freed heap until a collection — for an idle daemon, the forced one every
// two minutes — and returns it to the OS only gradually.
// defaultMemoryLimit is the Go runtime's soft memory limit
// (debug.SetMemoryLimit) when GOMEMLIMIT is not set. Measured with make
// bench-rss on an idle machine: RSS right after 20 000 consumes 34 MiB with
// it against 43 without, in the same time; 16 MiB made the collector run
// nearly continuously during compactions (1.6× the time). The runtime caps
// the collector at half the CPU should the live heap ever approach it, and
// WebAssembly guests' memory is mapped outside the Go heap.
const defaultMemoryLimit = 20 << 20

// defaultGCPercent is the garbage collector target (debug.SetGCPercent)
// when GOGC is not set.
const defaultGCPercent = 200

// setGCTargets applies defaultGCPercent unless GOGC is set and
// defaultMemoryLimit unless GOMEMLIMIT is set.
func setGCTargets() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(defaultGCPercent)
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

const (
	idlePeriod  = 10 * time.Second
	idleAllocs  = 1 << 20  // allocated in a period that still counts as idle
	burstAllocs = 32 << 20 // allocated since the last release that makes one worthwhile
)

// returnMemoryWhenIdle runs until ctx is done: each idlePeriod it asks an
// idleRelease whether to collect and return the free heap to the OS
// (debug.FreeOSMemory). An idle daemon costs one metrics read per period.
func returnMemoryWhenIdle(ctx context.Context) {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return // a runtime without the metric: leave the memory to the runtime
	}
	allocated := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	t := time.NewTicker(idlePeriod)
	defer t.Stop()
	r := idleRelease{last: allocated()}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if r.period(allocated()) {
			debug.FreeOSMemory()
			r.released(allocated())
		}
	}
}

// idleRelease decides when memory is worth returning: after two idle
// periods in a row (so Badger's pool has emptied) that follow at least
// burstAllocs of allocation since the last release.
type idleRelease struct {
	last         uint64 // cumulative bytes allocated at the last period
	sinceRelease uint64 // bytes allocated since the last release
	idle         int    // idle periods in a row
}

// period takes the cumulative bytes allocated at the end of a period and
// says whether to release now.
func (r *idleRelease) period(allocated uint64) bool {
	d := allocated - r.last
	r.last = allocated
	r.sinceRelease += d
	if d > idleAllocs {
		r.idle = 0
		return false
	}
	r.idle++
	return r.idle >= 2 && r.sinceRelease >= burstAllocs
}

// released records a release; allocated is the cumulative count after it.
func (r *idleRelease) released(allocated uint64) {
	r.last, r.sinceRelease = allocated, 0
}
