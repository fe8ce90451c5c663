//go:build !linux && !darwin && !windows

package fingerprint

import "strconv"

// collectOS on an OS without a dedicated collector: the standard library
// offers only the CPU count (which follows the process's affinity here).
// Platform, architecture, hostname and interfaces come from the common code.
func collectOS(src Source) osFacts {
	const none = "not collected on this OS"
	f := osFacts{
		cpuModel:       fact{missing: none},
		memory:         fact{missing: none},
		kernel:         fact{missing: none},
		virtualization: fact{missing: none},
		machineID:      fact{missing: none},
	}
	if n := src.NumCPU(); n > 0 {
		f.cpuCount = fact{value: strconv.Itoa(n), source: "runtime.NumCPU"}
	}
	return f
}
