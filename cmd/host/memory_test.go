package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

func TestIdleRelease(t *testing.T) {
	const mib = 1 << 20
	type step struct {
		alloc   uint64 // allocated during the period
		release bool
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"idle from the start: never", []step{{0, false}, {0, false}, {0, false}, {0, false}}},
		{"light use never adds up to a burst", []step{{mib / 2, false}, {mib / 2, false}, {mib / 2, false}, {mib / 2, false}}},
		{"burst, then two idle periods", []step{{100 * mib, false}, {0, false}, {0, true}, {0, false}, {0, false}}},
		{"busy periods restart the idle count", []step{{100 * mib, false}, {0, false}, {5 * mib, false}, {0, false}, {0, true}}},
		{"once per burst", []step{{100 * mib, false}, {0, false}, {0, true}, {40 * mib, false}, {0, false}, {0, true}, {0, false}}},
		{"a burst spread over light periods still counts", []step{{mib, false}, {30 * mib, false}, {mib / 2, false}, {mib / 2, true}}},
		{"small bursts below the bound do not", []step{{10 * mib, false}, {0, false}, {0, false}, {10 * mib, false}, {0, false}, {0, false}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := idleRelease{last: 1000}
			total := uint64(1000)
			for i, s := range c.steps {
				total += s.alloc
				got := r.period(total)
				if got != s.release {
					t.Fatalf("period %d (allocated %d MiB): release %v, want %v", i, s.alloc/mib, got, s.release)
				}
				if got {
					total += 4096 // the collection's own allocations
					r.released(total)
				}
			}
		})
	}
}

// The daemon's soft memory limit is defaultMemoryLimit unless GOMEMLIMIT
// is set, in which case the runtime's own reading of it stands.
func TestSetGCTargets(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	gcBefore := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(gcBefore) })

	t.Setenv("GOMEMLIMIT", "64MiB") // restored after the test
	t.Setenv("GOGC", "100")
	debug.SetMemoryLimit(math.MaxInt64)
	setGCTargets()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT set: limit %d, want it left alone", got)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set: GC percent %d, want it left alone", got)
	}

	os.Unsetenv("GOMEMLIMIT")
	os.Unsetenv("GOGC")
	setGCTargets()
	if got := debug.SetMemoryLimit(-1); got != defaultMemoryLimit {
		t.Errorf("without GOMEMLIMIT: limit %d, want %d", got, defaultMemoryLimit)
	}
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Errorf("without GOGC: GC percent %d, want %d", got, defaultGCPercent)
	}
}
