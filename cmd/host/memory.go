package main

import (
	"os"
	"runtime/debug"
)

// defaultGCPercent is the daemon's garbage collector target when GOGC is
// not set: the heap may grow by half its live size between collections
// instead of doubling. The daemon's work is fsync-bound, so the extra
// collections cost nothing a user notices, and its resident memory after a
// burst of consumes stays lower (docs/reliability.md, memory).
const defaultGCPercent = 50

func tuneMemory() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
}
