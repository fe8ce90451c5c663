package fingerprint

import (
	"encoding/binary"
	"strconv"
	"strings"
	"syscall"
)

// collectOS on macOS reads sysctl (syscall.Sysctl needs no cgo). The kernel
// signal keeps only the Darwin major version: Darwin's minor follows every
// macOS point release (23.4 is macOS 14.4), which must not change the code.
// There are no containers to detect; interfaces are judged by name and flags.
func collectOS(src Source) osFacts {
	var f osFacts

	if n, err := syscall.SysctlUint32("hw.ncpu"); err == nil && n > 0 {
		f.cpuCount = fact{value: strconv.FormatUint(uint64(n), 10), source: "sysctl hw.ncpu"}
	} else if n := src.NumCPU(); n > 0 {
		f.cpuCount = fact{value: strconv.Itoa(n), source: "runtime.NumCPU (fallback)"}
	}

	if m, err := syscall.Sysctl("machdep.cpu.brand_string"); err == nil && strings.TrimSpace(m) != "" {
		f.cpuModel = fact{value: strings.Join(strings.Fields(m), " "), source: "sysctl machdep.cpu.brand_string"}
	} else {
		f.cpuModel = fact{missing: "sysctl machdep.cpu.brand_string unavailable"}
	}

	// hw.memsize is a little-endian uint64; syscall.Sysctl drops one
	// trailing zero byte, so pad it back.
	if raw, err := syscall.Sysctl("hw.memsize"); err == nil && len(raw) > 0 && len(raw) <= 8 {
		var b [8]byte
		copy(b[:], raw)
		f.memory = fact{value: strconv.FormatUint(roundGiB(binary.LittleEndian.Uint64(b[:])), 10), source: "sysctl hw.memsize, rounded to GiB"}
	} else {
		f.memory = fact{missing: "sysctl hw.memsize unavailable"}
	}

	if rel, err := syscall.Sysctl("kern.osrelease"); err == nil && majorOnly(rel) != "" {
		f.kernel = fact{value: majorOnly(rel), source: "sysctl kern.osrelease " + strings.TrimSpace(rel) + ", major"}
	} else {
		f.kernel = fact{missing: "sysctl kern.osrelease unavailable"}
	}

	f.virtualization = fact{value: "none", source: "sysctl kern.hv_vmm_present"}
	if v, err := syscall.SysctlUint32("kern.hv_vmm_present"); err != nil {
		f.virtualization = fact{missing: "sysctl kern.hv_vmm_present unavailable"}
	} else if v == 1 {
		f.virtualization.value = "vm"
	}

	f.machineID = fact{missing: "not read on macOS"}
	return f
}
