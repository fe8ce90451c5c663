package fingerprint

import "testing"

func TestCountCPUList(t *testing.T) {
	for in, want := range map[string]int{
		"0\n": 1, "0-7": 8, "0-3,8-11\n": 8, "0,2,4": 3, "": 0, "x": 0, "3-1": 0, "0-": 0,
	} {
		if got := countCPUList(in); got != want {
			t.Errorf("countCPUList(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestMajorMinor(t *testing.T) {
	for in, want := range map[string]string{
		"6.1.0-18-amd64\n":         "6.1",
		"6.1.0-25-amd64":           "6.1",
		"5.15.0-1045-azure":        "5.15",
		"4.4.0-19041-Microsoft":    "4.4",
		"6.8.0-rc3":                "6.8",
		"10":                       "10",
		"6.":                       "6",
		"Linux":                    "",
		"":                         "",
		"6.18.44-fc-v769":          "6.18",
		"3.10.0-1160.el7.x86_64\n": "3.10",
	} {
		if got := majorMinor(in); got != want {
			t.Errorf("majorMinor(%q) = %q, want %q", in, got, want)
		}
	}
	if got := majorOnly("23.4.0"); got != "23" {
		t.Errorf("majorOnly = %q", got)
	}
}

func TestMemory(t *testing.T) {
	const meminfo = "MemTotal:       16318504 kB\nMemFree:          123 kB\n"
	kb := parseMemTotalKB(meminfo)
	if kb != 16318504 {
		t.Fatalf("MemTotal %d", kb)
	}
	for bytes, want := range map[uint64]uint64{
		kb * 1024:          16, // 15.56 GiB: a 16 GiB machine after kernel reservations
		3_900_000 * 1024:   4,  // 3.72 GiB
		1 << 30:            1,
		(1 << 30) * 3 / 2:  2, // half rounds up
		(1<<30)*3/2 - 1:    1,
		(1 << 30) * 1 / 10: 0,
	} {
		if got := roundGiB(bytes); got != want {
			t.Errorf("roundGiB(%d) = %d, want %d", bytes, got, want)
		}
	}
	for _, bad := range []string{"", "MemFree: 1 kB\n", "MemTotal: x kB\n", "MemTotal: 12 MB\n", "MemTotal:\n"} {
		if got := parseMemTotalKB(bad); got != 0 {
			t.Errorf("parseMemTotalKB(%q) = %d", bad, got)
		}
	}
}

func TestParseCPUInfo(t *testing.T) {
	tests := []struct {
		name, text, model string
		processors        int
		hypervisor        bool
	}{
		{"x86 guest", "processor\t: 0\nmodel name\t: AMD  EPYC   7B13\nflags\t\t: fpu hypervisor sse\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n", "AMD EPYC 7B13", 2, true},
		{"arm64", "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n\nprocessor\t: 1\nCPU implementer\t: 0x41\nCPU part\t: 0xd40\n", "implementer 0x41 part 0xd0c", 2, false},
		{"old arm", "Processor\t: ARMv7 Processor rev 4 (v7l)\nprocessor\t: 0\n", "ARMv7 Processor rev 4 (v7l)", 1, false},
		{"powerpc", "processor\t: 0\ncpu\t\t: POWER9 (architected), altivec supported\n", "POWER9 (architected), altivec supported", 1, false},
		{"empty", "", "", 0, false},
	}
	for _, tc := range tests {
		got := parseCPUInfo(tc.text)
		if got.model != tc.model || got.processors != tc.processors || got.hypervisor != tc.hypervisor {
			t.Errorf("%s: got %+v", tc.name, got)
		}
	}
}

func TestMountPoints(t *testing.T) {
	mi := "22 1 0:21 / / rw - overlay overlay rw\n" +
		"610 600 8:1 /etc/machine-id /etc/machine-id ro - ext4 /dev/sda1 rw\n" +
		"611 600 8:1 /x /mnt/with\\040space rw - ext4 /dev/sda1 rw\n" +
		"short line\n"
	got := mountPoints(mi)
	for _, p := range []string{"/", "/etc/machine-id", "/mnt/with space"} {
		if !got[p] {
			t.Errorf("missing mount point %q in %v", p, got)
		}
	}
	if len(got) != 3 {
		t.Errorf("got %v", got)
	}
}

func TestValidMachineID(t *testing.T) {
	for in, want := range map[string]bool{
		"4c3b2a190817f6e5d4c3b2a190817f6e": true,
		"00000000000000000000000000000000": false,
		"uninitialized":                    false,
		"4C3B2A190817F6E5D4C3B2A190817F6E": false,
		"":                                 false,
	} {
		if got := validMachineID(in); got != want {
			t.Errorf("validMachineID(%q) = %v", in, got)
		}
	}
}
