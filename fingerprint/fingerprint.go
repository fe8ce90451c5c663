package fingerprint

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"runtime"
	"sort"
	"strings"
)

// Prefix starts every machine code.
const Prefix = "server_"

// EnvOverride is the environment variable that pins the machine code for a
// fleet (for example a cloned VM image whose clones must keep one code, or a
// container platform without a host machine id). It is used when
// Options.Override is empty.
const EnvOverride = "LICENSEHOST_MACHINE_ID"

// Signal names: the keys of the map that is hashed (Report.SignalMap).
const (
	signalPlatform       = "platform"
	signalArch           = "arch"
	signalCPUCount       = "cpu_count"
	signalCPUModel       = "cpu_model"
	signalMemory         = "memory_gib"
	signalKernel         = "kernel"
	signalHostname       = "hostname"
	signalContainer      = "container"
	signalVirtualization = "virtualization"
	signalMachineID      = "machine_id"
	signalInterfaces     = "interfaces"
)

// Options configures Compute. The zero value fingerprints the real machine
// and honours LICENSEHOST_MACHINE_ID.
type Options struct {
	// Override pins the machine code; it wins over LICENSEHOST_MACHINE_ID.
	// It must satisfy Valid, or Compute fails with ErrInvalidOverride.
	Override string
	// Source replaces the machine's inputs; its nil fields read the real ones.
	Source Source
}

// Source is where the signals come from. Each nil field falls back to the
// real machine, so tests replace only what they fake.
type Source struct {
	// Root stands for the file system root "/": the Linux signals are read
	// from proc/..., sys/..., etc/... inside it. Default os.DirFS("/").
	Root fs.FS
	// Getenv reads an environment variable. Default os.Getenv.
	Getenv func(key string) string
	// Hostname returns the host name. Default os.Hostname.
	Hostname func() (string, error)
	// Interfaces lists the network interfaces. Default net.Interfaces.
	Interfaces func() ([]net.Interface, error)
	// NumCPU is the last-resort CPU count, used only when the OS offers
	// nothing better (it follows the process's affinity). Default runtime.NumCPU.
	NumCPU func() int
}

func (s Source) withDefaults() Source {
	if s.Root == nil {
		s.Root = os.DirFS("/")
	}
	if s.Getenv == nil {
		s.Getenv = os.Getenv
	}
	if s.Hostname == nil {
		s.Hostname = os.Hostname
	}
	if s.Interfaces == nil {
		s.Interfaces = net.Interfaces
	}
	if s.NumCPU == nil {
		s.NumCPU = runtime.NumCPU
	}
	return s
}

// Signal is one input of the machine code, as shown by Explain.
type Signal struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source,omitempty"` // where the value was read
	Used   bool   `json:"used"`             // whether it went into the hash
	Reason string `json:"reason,omitempty"` // why it was not used
}

// Interface is one network interface and whether it counted.
type Interface struct {
	Name   string `json:"name"`
	MAC    string `json:"mac"`
	Used   bool   `json:"used"`
	Reason string `json:"reason,omitempty"` // why it was not used
}

// Report is the machine code and everything that produced it.
type Report struct {
	// Code is the machine code in effect: the override when one is set,
	// else Computed. Empty when Compute returns an error.
	Code string `json:"code"`
	// Computed is the code the signals give, even when overridden.
	Computed string `json:"computed"`
	// Override tells that Code was pinned; OverrideSource says by what
	// ("option" or "env LICENSEHOST_MACHINE_ID"). The caller logs it.
	Override       bool   `json:"override"`
	OverrideSource string `json:"overrideSource,omitempty"`
	// Container tells that the host runs in a container, which restricts
	// the signals to host-level ones; ContainerReason lists the evidence.
	Container       bool   `json:"container"`
	ContainerReason string `json:"containerReason,omitempty"`
	// Signals lists every signal in a fixed order, used or not.
	Signals []Signal `json:"signals"`
	// Interfaces lists every network interface seen, sorted by name.
	Interfaces []Interface `json:"interfaces"`
}

// fact is one raw observation of a per-OS collector.
type fact struct {
	value   string
	source  string // where it was read
	missing string // why value is empty
}

// osFacts is what a per-OS collector (signals_*.go) observes.
type osFacts struct {
	cpuCount, cpuModel, memory, kernel, virtualization, machineID fact
	// machineIDFromHost: the machine id file is mounted from the host (so
	// it identifies the host, not the container image).
	machineIDFromHost bool
	container         bool
	containerKind     string
	containerReasons  []string
	// notPhysical says why the named interface is not backed by a
	// physical device, or "" when it is. nil: names and flags decide alone.
	notPhysical func(name string) string
}

// Compute fingerprints the machine described by opts.Source. It fails only
// when an override is set and invalid: then the error wraps
// ErrInvalidOverride and the Report still carries the signals and Computed,
// with an empty Code.
func Compute(opts Options) (Report, error) {
	src := opts.Source.withDefaults()
	f := collectOS(src)
	r := Report{Container: f.container, ContainerReason: strings.Join(f.containerReasons, "; ")}
	host := !f.container

	const (
		whyHostname = "excluded in container: each container has its own hostname"
		whyKind     = "excluded in container: the marker differs between container runtimes"
		whyVirt     = "excluded in container: not one of the host-level signals"
		whyIfaces   = "excluded in container: they depend on the container's network"
		whyHostMID  = "not used on a host: hostname and interfaces identify it"
		whyImageMID = "not used: ships with the container image, not mounted from the host"
	)
	add := func(name string, fc fact, use bool, why string) {
		s := Signal{Name: name, Value: fc.value, Source: fc.source}
		switch {
		case !use:
			s.Reason = why
		case fc.value == "":
			s.Reason = "unavailable"
			if fc.missing != "" {
				s.Reason += ": " + fc.missing
			}
		default:
			s.Used = true
		}
		r.Signals = append(r.Signals, s)
	}

	add(signalPlatform, fact{value: runtime.GOOS, source: "runtime.GOOS"}, true, "")
	add(signalArch, fact{value: runtime.GOARCH, source: "runtime.GOARCH"}, true, "")
	add(signalCPUCount, f.cpuCount, true, "")
	add(signalCPUModel, f.cpuModel, true, "")
	add(signalMemory, f.memory, true, "")
	add(signalKernel, f.kernel, true, "")
	add(signalHostname, hostnameFact(src), host, whyHostname)
	kind := fact{value: "none", source: "container detection"}
	if f.container {
		kind.value = f.containerKind
	}
	add(signalContainer, kind, host, whyKind)
	add(signalVirtualization, f.virtualization, host, whyVirt)
	midWhy := whyHostMID
	if f.container && !f.machineIDFromHost {
		midWhy = whyImageMID
		if f.machineID.value == "" {
			midWhy = "unavailable: " + f.machineID.missing
		}
	}
	add(signalMachineID, f.machineID, f.container && f.machineIDFromHost, midWhy)

	ifs, used, ifMissing := interfacesFact(src, f, host)
	r.Interfaces = ifs
	add(signalInterfaces, fact{value: used, source: "net.Interfaces", missing: ifMissing}, host, whyIfaces)

	r.Computed = CodeFor(r.SignalMap())

	override, from := strings.TrimSpace(opts.Override), "option"
	if override == "" {
		override, from = strings.TrimSpace(src.Getenv(EnvOverride)), "env "+EnvOverride
	}
	if override == "" {
		r.Code = r.Computed
		return r, nil
	}
	if !Valid(override) {
		return r, fmt.Errorf("%w: %s is %.40q", ErrInvalidOverride, from, override)
	}
	r.Code, r.Override, r.OverrideSource = override, true, from
	return r, nil
}

func hostnameFact(src Source) fact {
	h, err := src.Hostname()
	if err != nil {
		return fact{source: "os.Hostname", missing: err.Error()}
	}
	// Lower-cased: host names are case-insensitive, and Windows reports
	// them in capitals.
	return fact{value: strings.ToLower(strings.TrimSpace(h)), source: "os.Hostname"}
}

// interfacesFact classifies the interfaces and joins the used ones into the
// signal value "name=mac,name=mac" (sorted by name).
func interfacesFact(src Source, f osFacts, host bool) (all []Interface, value, missing string) {
	list, err := src.Interfaces()
	if err != nil {
		return nil, "", err.Error()
	}
	all = classifyInterfaces(list, f.notPhysical)
	var parts []string
	for i := range all {
		if !all[i].Used {
			continue
		}
		if !host {
			all[i].Used, all[i].Reason = false, "excluded in container: depends on the container's network"
			continue
		}
		parts = append(parts, all[i].Name+"="+all[i].MAC)
	}
	if host && len(parts) == 0 {
		missing = "no physical interface with a MAC address"
	}
	return all, strings.Join(parts, ","), missing
}

// SignalMap returns the signals that went into the hash, name to value: the
// exact input of CodeFor, so CodeFor(r.SignalMap()) == r.Computed. Store it
// with the record to explain a later change (see DiffSignals).
func (r Report) SignalMap() map[string]string {
	m := make(map[string]string, len(r.Signals))
	for _, s := range r.Signals {
		if s.Used {
			m[s.Name] = s.Value
		}
	}
	return m
}

// CodeFor is the machine-code algorithm of docs/fingerprint.md: serialise
// signals as a JSON object with sorted keys (no HTML escaping, no trailing newline — what
// JSON.stringify gives on a key-sorted object of strings), SHA-256 it, and
// return "server_" followed by the first 16 lowercase hex characters.
func CodeFor(signals map[string]string) string {
	sum := sha256.Sum256(canonicalJSON(signals))
	return Prefix + hex.EncodeToString(sum[:])[:16]
}

func canonicalJSON(signals map[string]string) []byte {
	if signals == nil {
		signals = map[string]string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(signals) // a map of strings always encodes; encoding/json sorts its keys
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// Valid reports whether code is "server_" followed by exactly 16 lowercase
// hex characters.
func Valid(code string) bool {
	if len(code) != len(Prefix)+16 || !strings.HasPrefix(code, Prefix) {
		return false
	}
	for _, c := range code[len(Prefix):] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Change is one signal that differs between two signal maps. An empty Old
// means the signal was added, an empty New that it went away.
type Change struct {
	Name string `json:"name"`
	Old  string `json:"old"`
	New  string `json:"new"`
}

// DiffSignals compares a stored signal map with a current one, sorted by
// name: why the machine code changed.
func DiffSignals(old, cur map[string]string) []Change {
	var out []Change
	for k, v := range old {
		if nv, ok := cur[k]; !ok || nv != v {
			out = append(out, Change{Name: k, Old: v, New: nv})
		}
	}
	for k, v := range cur {
		if _, ok := old[k]; !ok {
			out = append(out, Change{Name: k, New: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
