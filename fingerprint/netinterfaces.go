// Network interfaces as machine-code signals: which names are virtual
// (containers, bridges, tunnels) and never count, and the MACs that do.

package fingerprint

import (
	"net"
	"sort"
	"strings"
)

// virtualName returns the rule the name matches ("veth*"), or "".
//
// Names that are never a physical device, on any OS, matched
// case-insensitively: exact names, then name prefixes, then substrings (the
// substrings catch Windows' descriptive names).
func virtualName(name string) string {
	virtualExact := []string{"lo", "lo0"}
	virtualPrefixes := []string{
		// Linux containers, bridges, overlays and tunnels ("veth" also
		// catches Windows' Hyper-V "vEthernet (…)")
		"docker", "veth", "br-", "virbr", "vnet", "cni", "flannel", "cali", "cilium",
		"weave", "vxlan", "kube-", "lxcbr", "lxdbr", "podman", "tun", "tap", "wg",
		"tailscale", "zt", "ifb", "dummy",
		// VMware and VirtualBox host adapters
		"vmnet", "vboxnet",
		// macOS tunnels, bridges and the randomised Apple wireless links
		"utun", "awdl", "llw", "bridge", "gif", "stf",
	}
	virtualSubstrings := []string{"virtual", "vmware", "virtualbox", "hyper-v", "loopback", "pseudo", "teredo", "isatap", "bluetooth"}

	n := strings.ToLower(name)
	for _, e := range virtualExact {
		if n == e {
			return e
		}
	}
	for _, p := range virtualPrefixes {
		if strings.HasPrefix(n, p) {
			return p + "*"
		}
	}
	for _, s := range virtualSubstrings {
		if strings.Contains(n, s) {
			return "*" + s + "*"
		}
	}
	return ""
}

// classifyInterfaces decides for each interface whether it counts, in this
// order: loopback flag, virtual name, missing or all-zero MAC,
// point-to-point flag, then the OS check notPhysical (nil: none).
// The result is sorted by name, then MAC.
func classifyInterfaces(list []net.Interface, notPhysical func(name string) string) []Interface {
	out := make([]Interface, 0, len(list))
	for _, ifc := range list {
		it := Interface{Name: ifc.Name, MAC: ifc.HardwareAddr.String()}
		switch {
		case ifc.Flags&net.FlagLoopback != 0:
			it.Reason = "loopback"
		case virtualName(ifc.Name) != "":
			it.Reason = "virtual interface (name " + virtualName(ifc.Name) + ")"
		case len(ifc.HardwareAddr) == 0:
			it.Reason = "no MAC address"
		case allZero(ifc.HardwareAddr):
			it.Reason = "zero MAC address"
		case ifc.Flags&net.FlagPointToPoint != 0:
			it.Reason = "point-to-point tunnel"
		default:
			if notPhysical != nil {
				it.Reason = notPhysical(ifc.Name)
			}
			it.Used = it.Reason == ""
		}
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].MAC < out[j].MAC
	})
	return out
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
