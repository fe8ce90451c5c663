package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"strconv"
	"strings"
)

// collectOS reads the Linux signals from src.Root, which stands for "/".
func collectOS(src Source) osFacts {
	root := src.Root
	var f osFacts

	cpuText, cpuErr := readText(root, "proc/cpuinfo")
	ci := parseCPUInfo(cpuText)

	// CPU count: the machine's CPUs, not the process's affinity or cgroup
	// quota (runtime.NumCPU follows both).
	if present, err := readText(root, "sys/devices/system/cpu/present"); err == nil && countCPUList(present) > 0 {
		f.cpuCount = fact{value: strconv.Itoa(countCPUList(present)), source: "/sys/devices/system/cpu/present"}
	} else if ci.processors > 0 {
		f.cpuCount = fact{value: strconv.Itoa(ci.processors), source: "/proc/cpuinfo processor entries"}
	} else if n := src.NumCPU(); n > 0 {
		f.cpuCount = fact{value: strconv.Itoa(n), source: "runtime.NumCPU (fallback: /sys and /proc unreadable)"}
	}

	switch {
	case ci.model != "":
		f.cpuModel = fact{value: ci.model, source: "/proc/cpuinfo " + ci.modelKey}
	case cpuErr != nil:
		f.cpuModel = fact{missing: why(cpuErr)}
	default:
		f.cpuModel = fact{missing: "/proc/cpuinfo names no model"}
	}

	if text, err := readText(root, "proc/meminfo"); err != nil {
		f.memory = fact{missing: why(err)}
	} else if kb := parseMemTotalKB(text); kb == 0 {
		f.memory = fact{missing: "/proc/meminfo has no MemTotal"}
	} else {
		f.memory = fact{value: strconv.FormatUint(roundGiB(kb*1024), 10), source: "/proc/meminfo MemTotal, rounded to GiB"}
	}

	if rel, err := readText(root, "proc/sys/kernel/osrelease"); err != nil {
		f.kernel = fact{missing: why(err)}
	} else if mm := majorMinor(rel); mm == "" {
		f.kernel = fact{missing: "unrecognised kernel release " + strconv.Quote(strings.TrimSpace(rel))}
	} else {
		f.kernel = fact{value: mm, source: "/proc/sys/kernel/osrelease " + strings.TrimSpace(rel) + ", major.minor"}
	}

	f.virtualization = fact{value: "none", source: "no hypervisor flag in /proc/cpuinfo"}
	if t, err := readText(root, "sys/hypervisor/type"); err == nil && strings.TrimSpace(t) != "" {
		f.virtualization = fact{value: strings.TrimSpace(t), source: "/sys/hypervisor/type"}
	} else if ci.hypervisor {
		f.virtualization = fact{value: "vm", source: "hypervisor flag in /proc/cpuinfo"}
	} else if cpuErr != nil {
		f.virtualization = fact{missing: why(cpuErr)}
	}

	detectContainer(src, &f)
	machineID(root, &f)

	// Physical interfaces are those backed by a device. Without a readable
	// /sys/class/net (an unusual sandbox) the name and flag rules decide alone.
	if _, err := fs.Stat(root, "sys/class/net"); err == nil {
		f.notPhysical = func(name string) string { return linuxNotPhysical(root, name) }
	}
	return f
}

// linuxNotPhysical: an interface counts when /sys/class/net/NAME/device
// exists (a PCI, USB, virtio… device backs it) and its MAC was not randomised
// by the kernel (addr_assign_type 1).
func linuxNotPhysical(root fs.FS, name string) string {
	dir := "sys/class/net/" + name
	if !fs.ValidPath(dir) || strings.Contains(name, "/") {
		return "unusual interface name"
	}
	if _, err := fs.Stat(root, dir+"/device"); err != nil {
		return "virtual interface (no /" + dir + "/device)"
	}
	if t, err := readText(root, dir+"/addr_assign_type"); err == nil && strings.TrimSpace(t) == "1" {
		return "random MAC address (addr_assign_type 1)"
	}
	return ""
}

// detectContainer looks for the marks container runtimes leave. Every mark
// found is listed; the first names the kind.
func detectContainer(src Source, f *osFacts) {
	found := func(kind, reason string) {
		if !f.container {
			f.container, f.containerKind = true, kind
		}
		f.containerReasons = append(f.containerReasons, reason)
	}
	if exists(src.Root, ".dockerenv") {
		found("docker", "/.dockerenv exists")
	}
	if exists(src.Root, "run/.containerenv") {
		found("podman", "/run/.containerenv exists")
	}
	if cg, err := readText(src.Root, "proc/1/cgroup"); err == nil {
		for _, m := range []struct{ mark, kind string }{
			{"kubepods", "kubernetes"}, {"libpod", "podman"}, {"docker", "docker"},
			{"containerd", "containerd"}, {"lxc", "lxc"},
		} {
			if strings.Contains(cg, m.mark) {
				found(m.kind, "/proc/1/cgroup mentions "+strconv.Quote(m.mark))
				break
			}
		}
	}
	if src.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		found("kubernetes", "KUBERNETES_SERVICE_HOST is set")
	}
	if t, err := readText(src.Root, "run/systemd/container"); err == nil && strings.TrimSpace(t) != "" {
		found(strings.TrimSpace(t), "/run/systemd/container says "+strconv.Quote(strings.TrimSpace(t)))
	}
}

// machineID reads /etc/machine-id, else /var/lib/dbus/machine-id. The value
// kept is a hash of the id, never the id itself (machine-id(5): the id is
// confidential). It counts in a container only when the file is a mount
// point in /proc/self/mountinfo, i.e. bind-mounted from the host: an id that
// ships inside the image identifies the image, and changes with it.
func machineID(root fs.FS, f *osFacts) {
	f.machineID = fact{missing: "no /etc/machine-id or /var/lib/dbus/machine-id"}
	mounts := map[string]bool{}
	if mi, err := readText(root, "proc/self/mountinfo"); err == nil {
		mounts = mountPoints(mi)
	}
	// A file mounted from the host wins over one from the image.
	found := false
	for _, p := range []string{"etc/machine-id", "var/lib/dbus/machine-id"} {
		text, err := readText(root, p)
		if err != nil {
			continue
		}
		id := strings.TrimSpace(text)
		if !validMachineID(id) {
			if !found {
				f.machineID = fact{missing: "/" + p + " holds no valid id"}
			}
			continue
		}
		mounted := mounts["/"+p]
		if found && (f.machineIDFromHost || !mounted) {
			continue
		}
		sum := sha256.Sum256([]byte("licensehost machine-id:" + id))
		f.machineID = fact{value: hex.EncodeToString(sum[:])[:16], source: "/" + p + " (hashed)"}
		if mounted {
			f.machineID.source = "/" + p + " mounted from the host (hashed)"
		}
		f.machineIDFromHost, found = mounted, true
	}
}

// readText reads a whole small file below root.
func readText(root fs.FS, name string) (string, error) {
	b, err := fs.ReadFile(root, name)
	return string(b), err
}

func exists(root fs.FS, name string) bool {
	_, err := fs.Stat(root, name)
	return err == nil
}

// why turns a read error into a short reason.
func why(err error) string {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist) && errors.As(err, &pe):
		return "/" + pe.Path + " does not exist"
	case errors.Is(err, fs.ErrPermission) && errors.As(err, &pe):
		return "/" + pe.Path + " is not readable"
	}
	return err.Error()
}
