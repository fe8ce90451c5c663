package fingerprint

import (
	"errors"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// collectOS on Windows uses kernel32 and the registry through package
// syscall (no cgo): the CPU count of all processor groups, the first CPU's
// name, the physical memory, and the Windows major.minor version (10.0 for
// Windows 10 and 11, so updates do not change it). Container and hypervisor
// detection are not implemented; interfaces are judged by name and flags.
func collectOS(src Source) osFacts {
	var f osFacts
	kernel32 := syscall.NewLazyDLL("kernel32.dll")

	// GetActiveProcessorCount(ALL_PROCESSOR_GROUPS) counts past 64 CPUs and
	// ignores the process's affinity, unlike runtime.NumCPU.
	if p := kernel32.NewProc("GetActiveProcessorCount"); p.Find() == nil {
		if n, _, _ := p.Call(0xffff); n > 0 {
			f.cpuCount = fact{value: strconv.FormatUint(uint64(n), 10), source: "GetActiveProcessorCount"}
		}
	}
	if f.cpuCount.value == "" {
		if n := src.NumCPU(); n > 0 {
			f.cpuCount = fact{value: strconv.Itoa(n), source: "runtime.NumCPU (fallback)"}
		}
	}

	if m, err := regString(`HARDWARE\DESCRIPTION\System\CentralProcessor\0`, "ProcessorNameString"); err == nil && strings.TrimSpace(m) != "" {
		f.cpuModel = fact{value: strings.Join(strings.Fields(m), " "), source: `registry CentralProcessor\0 ProcessorNameString`}
	} else {
		f.cpuModel = fact{missing: "ProcessorNameString unavailable"}
	}

	// MEMORYSTATUSEX
	var ms struct {
		length, memoryLoad                         uint32
		totalPhys, availPhys, totalPage, availPage uint64
		totalVirtual, availVirtual, availExtended  uint64
	}
	ms.length = uint32(unsafe.Sizeof(ms))
	if p := kernel32.NewProc("GlobalMemoryStatusEx"); p.Find() == nil {
		if ok, _, _ := p.Call(uintptr(unsafe.Pointer(&ms))); ok != 0 && ms.totalPhys > 0 {
			f.memory = fact{value: strconv.FormatUint(roundGiB(ms.totalPhys), 10), source: "GlobalMemoryStatusEx, rounded to GiB"}
		}
	}
	if f.memory.value == "" {
		f.memory = fact{missing: "GlobalMemoryStatusEx unavailable"}
	}

	const cv = `SOFTWARE\Microsoft\Windows NT\CurrentVersion`
	major, err1 := regDWORD(cv, "CurrentMajorVersionNumber")
	minor, err2 := regDWORD(cv, "CurrentMinorVersionNumber")
	if err1 == nil && err2 == nil {
		f.kernel = fact{value: strconv.FormatUint(uint64(major), 10) + "." + strconv.FormatUint(uint64(minor), 10), source: "registry CurrentVersion, major.minor"}
	} else if v, err := regString(cv, "CurrentVersion"); err == nil && majorMinor(v) != "" {
		f.kernel = fact{value: majorMinor(v), source: "registry CurrentVersion"}
	} else {
		f.kernel = fact{missing: "Windows version unavailable"}
	}

	f.virtualization = fact{missing: "not detected on Windows"}
	f.machineID = fact{missing: "not read on Windows"}
	return f
}

func regOpen(path string) (syscall.Handle, error) {
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return 0, err
	}
	var h syscall.Handle
	if err := syscall.RegOpenKeyEx(syscall.HKEY_LOCAL_MACHINE, p, 0, syscall.KEY_READ, &h); err != nil {
		return 0, err
	}
	return h, nil
}

func regQuery(path, name string) (typ uint32, data []byte, err error) {
	h, err := regOpen(path)
	if err != nil {
		return 0, nil, err
	}
	defer syscall.RegCloseKey(h)
	n, err := syscall.UTF16PtrFromString(name)
	if err != nil {
		return 0, nil, err
	}
	buf := make([]byte, 512)
	size := uint32(len(buf))
	if err := syscall.RegQueryValueEx(h, n, nil, &typ, &buf[0], &size); err != nil {
		return 0, nil, err
	}
	return typ, buf[:size], nil
}

func regString(path, name string) (string, error) {
	typ, b, err := regQuery(path, name)
	if err != nil {
		return "", err
	}
	if typ != syscall.REG_SZ && typ != syscall.REG_EXPAND_SZ {
		return "", errNotRegType
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return syscall.UTF16ToString(u), nil
}

func regDWORD(path, name string) (uint32, error) {
	typ, b, err := regQuery(path, name)
	if err != nil {
		return 0, err
	}
	if typ != syscall.REG_DWORD || len(b) < 4 {
		return 0, errNotRegType
	}
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24, nil
}

// errNotRegType: a registry value has an unexpected type.
var errNotRegType = errors.New("unexpected registry value type")
