package fingerprint

import (
	"bufio"
	"strconv"
	"strings"
)

// Pure parsers for the stable form of each signal. They take text, not
// files, so every OS build can use and test them.

// countCPUList counts the CPUs in a kernel CPU list such as "0-3,8-11"
// (/sys/devices/system/cpu/present). It returns 0 for anything malformed.
func countCPUList(s string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	n := 0
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return 0
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return 0
			}
		}
		n += b - a + 1
	}
	return n
}

// cpuinfo holds what the machine code takes from /proc/cpuinfo.
type cpuinfo struct {
	processors int    // "processor" entries
	model      string // the first CPU's model, whitespace collapsed
	modelKey   string // the cpuinfo key it came from
	hypervisor bool   // the "hypervisor" CPU flag (x86 guests)
}

// parseCPUInfo reads /proc/cpuinfo text. The model is the first of, in
// order: "model name" (x86, recent arm), "Processor" (old arm), "cpu model"
// (mips), "cpu" (powerpc), "Hardware"; failing those, arm64's "CPU
// implementer" and "CPU part" of the first CPU.
func parseCPUInfo(text string) cpuinfo {
	var ci cpuinfo
	first := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1024*1024) // flags lines are long
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.Join(strings.Fields(v), " ")
		if k == "processor" || strings.HasPrefix(k, "processor ") {
			ci.processors++
		}
		if (k == "flags" || k == "Features") && !ci.hypervisor {
			for _, fl := range strings.Fields(v) {
				if fl == "hypervisor" {
					ci.hypervisor = true
				}
			}
		}
		if _, seen := first[k]; !seen {
			first[k] = v
		}
	}
	for _, k := range []string{"model name", "Processor", "cpu model", "cpu", "Hardware"} {
		if v := first[k]; v != "" {
			ci.model, ci.modelKey = v, k
			return ci
		}
	}
	if impl, part := first["CPU implementer"], first["CPU part"]; impl != "" && part != "" {
		ci.model, ci.modelKey = "implementer "+impl+" part "+part, "CPU implementer, CPU part"
	}
	return ci
}

// parseMemTotalKB returns MemTotal in kB from /proc/meminfo text, or 0.
func parseMemTotalKB(text string) uint64 {
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != "MemTotal" {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			return 0
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0
		}
		if len(f) > 1 && f[1] != "kB" {
			return 0
		}
		return n
	}
	return 0
}

// roundGiB rounds a byte count to the nearest whole GiB (half up). The
// kernel reserves some memory, so a 16 GiB machine reports about 15.6 GiB;
// rounding keeps the signal at 16 across kernel updates.
func roundGiB(bytes uint64) uint64 {
	const gib = 1 << 30
	return (bytes + gib/2) / gib
}

// majorMinor keeps the leading "major.minor" of a kernel release
// ("6.1.0-18-amd64" → "6.1"), or just "major" when no minor follows.
// It returns "" when the release does not start with a number.
func majorMinor(release string) string {
	release = strings.TrimSpace(release)
	digits := func(s string) int {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i
	}
	i := digits(release)
	if i == 0 {
		return ""
	}
	if i < len(release) && release[i] == '.' {
		if j := digits(release[i+1:]); j > 0 {
			return release[:i+1+j]
		}
	}
	return release[:i]
}

// majorOnly keeps the leading number of a release ("23.4.0" → "23").
func majorOnly(release string) string {
	mm := majorMinor(release)
	if i := strings.IndexByte(mm, '.'); i >= 0 {
		return mm[:i]
	}
	return mm
}

// validMachineID reports whether s is a systemd/dbus machine id: 32
// lowercase hex characters, not all zero (and not "uninitialized").
func validMachineID(s string) bool {
	if len(s) != 32 {
		return false
	}
	zero := true
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
		if c != '0' {
			zero = false
		}
	}
	return !zero
}

// mountPoints returns the mount points listed in /proc/self/mountinfo text
// (field 5, with the kernel's octal escapes undone).
func mountPoints(text string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		out[unescapeOctal(f[4])] = true
	}
	return out
}

func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
