package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
)

const hostMachineID = "4c3b2a190817f6e5d4c3b2a190817f6e" // testdata/gen.sh HOSTID

// treeSource reads the fake root testdata/<tree>, with the given hostname,
// interfaces and environment.
func treeSource(t *testing.T, root fs.FS, hostname string, env map[string]string, ifs ...net.Interface) Source {
	t.Helper()
	return Source{
		Root:       root,
		Getenv:     func(k string) string { return env[k] },
		Hostname:   func() (string, error) { return hostname, nil },
		Interfaces: func() ([]net.Interface, error) { return ifs, nil },
		NumCPU:     func() int { return 2 },
	}
}

func compute(t *testing.T, src Source) Report {
	t.Helper()
	r, err := Compute(Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if !Valid(r.Code) || r.Code != r.Computed || CodeFor(r.SignalMap()) != r.Code {
		t.Fatalf("bad report: %+v", r)
	}
	return r
}

func hostInterfaces() []net.Interface {
	return []net.Interface{
		iface("lo", "", net.FlagLoopback),
		iface("eth0", "52:54:00:12:34:56", net.FlagUp),
		iface("wlan0", "00:1b:21:3a:4f:5c", 0),
		iface("wlan1", "da:a1:19:00:00:01", 0), // random MAC (addr_assign_type 1)
		iface("docker0", "02:42:ac:11:00:01", 0),
		iface("bond0", "00:11:22:33:44:55", 0), // no device
		iface("veth9f8e", "ae:12:34:56:78:9a", 0),
	}
}

func hashedID(id string) string {
	sum := sha256.Sum256([]byte("licensehost machine-id:" + id))
	return hex.EncodeToString(sum[:])[:16]
}

func TestLinuxPlainHost(t *testing.T) {
	r := compute(t, treeSource(t, os.DirFS("testdata/host"), "Build-01", nil, hostInterfaces()...))
	if r.Container || r.ContainerReason != "" {
		t.Fatalf("plain host seen as container: %q", r.ContainerReason)
	}
	want := map[string]string{
		"platform":       runtime.GOOS,
		"arch":           runtime.GOARCH,
		"cpu_count":      "8", // /sys/devices/system/cpu/present 0-7, though cpuinfo lists only 4 online
		"cpu_model":      "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz",
		"memory_gib":     "16",
		"kernel":         "6.1",
		"hostname":       "build-01",
		"container":      "none",
		"virtualization": "none",
		"interfaces":     "eth0=52:54:00:12:34:56,wlan0=00:1b:21:3a:4f:5c",
	}
	if got := r.SignalMap(); !reflect.DeepEqual(got, want) {
		t.Fatalf("signals\n got %v\nwant %v", got, want)
	}
	reasons := map[string]string{}
	for _, it := range r.Interfaces {
		reasons[it.Name] = it.Reason
	}
	wantReasons := map[string]string{
		"lo":       "loopback",
		"eth0":     "",
		"wlan0":    "",
		"wlan1":    "random MAC address (addr_assign_type 1)",
		"docker0":  "virtual interface (name docker*)",
		"bond0":    "virtual interface (no /sys/class/net/bond0/device)",
		"veth9f8e": "virtual interface (name veth*)",
	}
	if !reflect.DeepEqual(reasons, wantReasons) {
		t.Fatalf("interface reasons\n got %v\nwant %v", reasons, wantReasons)
	}
	// The host's machine id is shown (hashed) but identifies nothing here.
	for _, s := range r.Signals {
		if s.Name == "machine_id" && (s.Used || s.Value != hashedID(hostMachineID)) {
			t.Fatalf("machine_id on a host: %+v", s)
		}
	}
}

func TestLinuxContainerDetection(t *testing.T) {
	tests := []struct {
		tree      string
		env       map[string]string
		container bool
		kind      string
		reason    string
		machineID bool // machine_id counts
		unusedWhy string
	}{
		{tree: "host", container: false, kind: "none"},
		{tree: "docker-cgroup1", container: true, kind: "docker", reason: `/proc/1/cgroup mentions "docker"`,
			unusedWhy: "not used: ships with the container image, not mounted from the host"},
		{tree: "docker-cgroup2", container: true, kind: "docker", reason: "/.dockerenv exists", machineID: true},
		{tree: "podman", container: true, kind: "podman", reason: "/run/.containerenv exists",
			unusedWhy: "unavailable: no /etc/machine-id or /var/lib/dbus/machine-id"},
		{tree: "kubernetes", env: map[string]string{"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, container: true, kind: "kubernetes", reason: "KUBERNETES_SERVICE_HOST is set"},
		{tree: "kubernetes", container: false, kind: "none"}, // the same tree without the env var: nothing to see
	}
	for _, tc := range tests {
		t.Run(tc.tree+"/"+tc.kind, func(t *testing.T) {
			r := compute(t, treeSource(t, os.DirFS("testdata/"+tc.tree), "c-1", tc.env, iface("eth0", "02:42:ac:11:00:02", 0)))
			if r.Container != tc.container || r.ContainerReason != tc.reason {
				t.Fatalf("container %v (%q), want %v (%q)", r.Container, r.ContainerReason, tc.container, tc.reason)
			}
			var kind Signal
			for _, s := range r.Signals {
				if s.Name == "container" {
					kind = s
				}
				if s.Name == "machine_id" && tc.container {
					if s.Used != tc.machineID {
						t.Errorf("machine_id used %v, want %v: %+v", s.Used, tc.machineID, s)
					}
					if tc.unusedWhy != "" && s.Reason != tc.unusedWhy {
						t.Errorf("machine_id reason %q, want %q", s.Reason, tc.unusedWhy)
					}
				}
			}
			if kind.Value != tc.kind || kind.Used == tc.container {
				t.Fatalf("container signal %+v", kind)
			}
			m := r.SignalMap()
			if tc.container {
				for _, k := range []string{"hostname", "interfaces", "container", "virtualization"} {
					if _, ok := m[k]; ok {
						t.Errorf("%s counted in a container", k)
					}
				}
				for _, it := range r.Interfaces {
					if it.Used || it.Reason == "" {
						t.Errorf("interface in container: %+v", it)
					}
				}
				if !strings.Contains(r.Text(), "environment:  container ("+tc.reason+")") {
					t.Errorf("Text:\n%s", r.Text())
				}
			}
			if tc.machineID && m["machine_id"] != hashedID(hostMachineID) {
				t.Errorf("machine_id %q, want the host's, hashed", m["machine_id"])
			}
		})
	}
}

// Containers on one host share the code, whatever their hostname,
// interfaces or runtime; a container with the host's machine id mounted
// differs from one without (it has one more signal).
func TestLinuxContainersOnOneHostShareCode(t *testing.T) {
	a := compute(t, treeSource(t, os.DirFS("testdata/docker-cgroup1"), "3f1c0ffee0dd", nil,
		iface("eth0", "02:42:ac:11:00:02", 0)))
	b := compute(t, treeSource(t, os.DirFS("testdata/docker-cgroup1"), "web-7d9f-xk2p", nil,
		iface("eth0", "02:42:ac:11:00:09", 0), iface("eth1", "02:42:ac:12:00:03", 0)))
	c := compute(t, treeSource(t, os.DirFS("testdata/podman"), "other", nil))
	d := compute(t, treeSource(t, os.DirFS("testdata/kubernetes"), "pod-1", map[string]string{"KUBERNETES_SERVICE_HOST": "10.96.0.1"}))
	if a.Code != b.Code || a.Code != c.Code || a.Code != d.Code {
		t.Fatalf("codes differ: docker %s, docker %s, podman %s, kubernetes %s", a.Code, b.Code, c.Code, d.Code)
	}
	want := map[string]string{
		"platform": runtime.GOOS, "arch": runtime.GOARCH, "cpu_count": "8",
		"cpu_model": "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", "memory_gib": "16", "kernel": "6.1",
	}
	if got := a.SignalMap(); !reflect.DeepEqual(got, want) {
		t.Fatalf("container signals %v", got)
	}

	e := compute(t, treeSource(t, os.DirFS("testdata/docker-cgroup2"), "x", nil))
	f := compute(t, treeSource(t, os.DirFS("testdata/docker-cgroup2"), "y", nil, iface("eth0", "02:42:ac:11:00:05", 0)))
	if e.Code != f.Code || e.Code == a.Code {
		t.Fatalf("mounted machine id: %s %s (without: %s)", e.Code, f.Code, a.Code)
	}
}

// A kernel update within 6.1 changes nothing, on a host or in a container;
// a move to 6.2 does.
func TestLinuxKernelUpdateKeepsCode(t *testing.T) {
	for _, tree := range []string{"host", "docker-cgroup2"} {
		code := func(release string) string {
			root := overlay{top: fstest.MapFS{"proc/sys/kernel/osrelease": {Data: []byte(release + "\n")}}, base: os.DirFS("testdata/" + tree)}
			return compute(t, treeSource(t, root, "h", nil, hostInterfaces()...)).Code
		}
		if a, b := code("6.1.0-18-amd64"), code("6.1.0-25-amd64"); a != b {
			t.Errorf("%s: 6.1.0-18 gives %s, 6.1.0-25 gives %s", tree, a, b)
		}
		if code("6.1.0-18-amd64") == code("6.2.0-1-amd64") {
			t.Errorf("%s: 6.2 gives the 6.1 code", tree)
		}
	}
}

func TestLinuxCPUCountFallbacks(t *testing.T) {
	cpuCount := func(root fs.FS) Signal {
		for _, s := range compute(t, treeSource(t, root, "h", nil)).Signals {
			if s.Name == "cpu_count" {
				return s
			}
		}
		t.Fatal("no cpu_count")
		return Signal{}
	}
	hidden := func(names ...string) fs.FS {
		top := fstest.MapFS{}
		for _, n := range names {
			top[n] = &fstest.MapFile{} // shadowed by an empty file: unusable
		}
		return overlay{top: top, base: os.DirFS("testdata/host")}
	}
	if s := cpuCount(hidden()); s.Value != "8" || s.Source != "/sys/devices/system/cpu/present" {
		t.Errorf("present: %+v", s)
	}
	if s := cpuCount(hidden("sys/devices/system/cpu/present")); s.Value != "4" || !strings.HasPrefix(s.Source, "/proc/cpuinfo") {
		t.Errorf("cpuinfo fallback: %+v", s)
	}
	if s := cpuCount(hidden("sys/devices/system/cpu/present", "proc/cpuinfo")); s.Value != "2" || !strings.HasPrefix(s.Source, "runtime.NumCPU") {
		t.Errorf("NumCPU fallback: %+v", s)
	}
}

// With nothing readable the code is still well formed, and Explain says
// what was missing.
func TestLinuxNothingReadable(t *testing.T) {
	r := compute(t, treeSource(t, emptyFS{}, "h", nil, iface("eth0", "52:54:00:12:34:56", 0)))
	m := r.SignalMap()
	for _, k := range []string{"cpu_model", "memory_gib", "kernel"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s counted with nothing readable", k)
		}
	}
	// Without /sys/class/net, names and flags decide alone.
	if m["interfaces"] != "eth0=52:54:00:12:34:56" {
		t.Errorf("interfaces %q", m["interfaces"])
	}
	if txt := r.Text(); !strings.Contains(txt, "unavailable: /proc/meminfo does not exist") {
		t.Errorf("Text:\n%s", txt)
	}
}

func TestLinuxMachineIDPrefersMounted(t *testing.T) {
	const imageID = "0123456789abcdef0123456789abcdef"
	root := overlay{top: fstest.MapFS{
		".dockerenv":              {},
		"etc/machine-id":          {Data: []byte(imageID + "\n")},
		"var/lib/dbus/machine-id": {Data: []byte(hostMachineID + "\n")},
		"proc/self/mountinfo":     {Data: []byte("22 1 0:21 / / rw - overlay overlay rw\n700 22 8:1 /etc/machine-id /var/lib/dbus/machine-id ro - ext4 /dev/sda1 rw\n")},
	}, base: os.DirFS("testdata/podman")}
	r := compute(t, treeSource(t, root, "h", nil))
	if got := r.SignalMap()["machine_id"]; got != hashedID(hostMachineID) {
		t.Fatalf("machine_id %q, want the mounted host id", got)
	}
}

func TestLinuxWhy(t *testing.T) {
	_, err := fs.ReadFile(os.DirFS("testdata/host"), "proc/nope")
	if got := why(err); got != "/proc/nope does not exist" {
		t.Errorf("why = %q", got)
	}
	if got := why(errors.New("boom")); got != "boom" {
		t.Errorf("why = %q", got)
	}
}

// Even a device-backed interface (host networking, SR-IOV) does not count in
// a container: its presence depends on how the container was started.
func TestLinuxContainerIgnoresPhysicalInterface(t *testing.T) {
	root := overlay{top: fstest.MapFS{"sys/class/net/eth0/device": {Data: []byte("../../../0000:00:03.0\n")}}, base: os.DirFS("testdata/docker-cgroup2")}
	r := compute(t, treeSource(t, root, "h", nil, iface("eth0", "52:54:00:12:34:56", 0)))
	if len(r.Interfaces) != 1 || r.Interfaces[0].Used || r.Interfaces[0].Reason != "excluded in container: depends on the container's network" {
		t.Fatalf("interfaces %+v", r.Interfaces)
	}
}
