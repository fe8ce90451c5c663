package plugins

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/licensehost/licensehost/plugins/goplugin"
)

// ManifestName is the manifest's file name in a policy directory.
const ManifestName = "policies.json"

// ManifestVersion is the manifest format this package reads.
const ManifestVersion = 1

// The module kinds.
const (
	KindWasm   = "wasm"
	KindPlugin = "plugin"
)

// BuiltinModule is the reserved module name of the built-in policy.
const BuiltinModule = "builtin"

// DefaultPattern matches every license type no other rule matches.
const DefaultPattern = "default"

// Manifest is the content of policies.json.
//
//	{
//	  "version": 1,
//	  "modules": {
//	    "tiered": {"kind": "wasm", "path": "tiered.wasm", "sha256": "…",
//	               "limits": {"memoryPages": 512, "timeout": "50ms", "maxOutput": 65536}},
//	    "grace":  {"kind": "plugin", "path": "grace-plugin", "sha256": "…", "limits": {"timeout": "500ms"}}
//	  },
//	  "licenseTypes": [
//	    {"match": "终生赞助版", "module": "tiered"},
//	    {"match": "年度*",      "module": "tiered"},
//	    {"match": "default",   "module": "grace"}
//	  ]
//	}
//
// A rule's match is an exact license type name, a path.Match glob, or
// "default". An exact name wins over globs, globs are tried in order, then
// "default"; with no match the built-in policy decides. The module
// "builtin" is the built-in policy.
type Manifest struct {
	Version      int               `json:"version"`
	Modules      map[string]Module `json:"modules"`
	LicenseTypes []Rule            `json:"licenseTypes"`
}

// Module is one policy module of the manifest.
type Module struct {
	Kind   string `json:"kind"`   // "wasm" or "plugin"
	Path   string `json:"path"`   // relative to the policy directory, or absolute
	SHA256 string `json:"sha256"` // hex sha256 of the file; required
	Bounds Bounds `json:"limits"`
}

// Bounds bound a module's resources (the manifest's "limits" object; not
// quota limits, which are engine.Limits); zero fields take the backend's
// defaults.
type Bounds struct {
	Timeout     Duration `json:"timeout,omitzero"`     // per call
	MemoryPages uint32   `json:"memoryPages,omitzero"` // wasm: 64 KiB pages
	MaxOutput   int      `json:"maxOutput,omitzero"`   // largest encoded answer, bytes
	MaxLog      int      `json:"maxLog,omitzero"`      // wasm: guest stdout+stderr kept per call, bytes
	Instances   int      `json:"instances,omitzero"`   // wasm: instance pool size
	CPUs        int      `json:"cpus,omitzero"`        // plugin: GOMAXPROCS of its process (docs/policy-abi.md §4)
}

// Rule maps license types to a module.
type Rule struct {
	Match  string `json:"match"`
	Module string `json:"module"`
}

// Duration is a time.Duration written as a Go duration string ("50ms").
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"50ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v <= 0 {
		return fmt.Errorf("duration %q must be positive", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// ReadManifest reads and validates dir/policies.json.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, err
	}
	return ParseManifest(b)
}

// ParseManifest parses and validates a manifest; unknown fields are errors.
func ParseManifest(b []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	if m.Version != ManifestVersion {
		return fmt.Errorf("version %d, want %d", m.Version, ManifestVersion)
	}
	for name, mod := range m.Modules {
		switch {
		case name == "" || name == BuiltinModule:
			return fmt.Errorf("module name %q is reserved", name)
		case mod.Kind != KindWasm && mod.Kind != KindPlugin:
			return fmt.Errorf("module %s: kind %q, want %q or %q", name, mod.Kind, KindWasm, KindPlugin)
		case mod.Path == "":
			return fmt.Errorf("module %s: path is required", name)
		case len(mod.SHA256) != 64 || strings.Trim(strings.ToLower(mod.SHA256), "0123456789abcdef") != "":
			return fmt.Errorf("module %s: sha256 must be 64 hex digits", name)
		case mod.Bounds.MaxOutput < 0 || mod.Bounds.MaxLog < 0 || mod.Bounds.Instances < 0 || mod.Bounds.CPUs < 0:
			return fmt.Errorf("module %s: negative limit", name)
		case mod.Bounds.CPUs > goplugin.MaxCPUs:
			return fmt.Errorf("module %s: cpus %d, want at most %d", name, mod.Bounds.CPUs, goplugin.MaxCPUs)
		case mod.Kind == KindPlugin && (mod.Bounds.MemoryPages != 0 || mod.Bounds.Instances != 0 || mod.Bounds.MaxLog != 0):
			return fmt.Errorf("module %s: memoryPages, instances and maxLog apply to wasm modules only", name)
		case mod.Kind == KindWasm && mod.Bounds.CPUs != 0:
			return fmt.Errorf("module %s: cpus applies to plugin modules only", name)
		}
	}
	seen := map[string]bool{}
	for i, r := range m.LicenseTypes {
		switch {
		case r.Match == "":
			return fmt.Errorf("licenseTypes[%d]: empty match", i)
		case seen[r.Match]:
			return fmt.Errorf("licenseTypes[%d]: %q is matched twice", i, r.Match)
		case r.Module != BuiltinModule && m.Modules[r.Module].Kind == "":
			return fmt.Errorf("licenseTypes[%d]: unknown module %q", i, r.Module)
		}
		if isGlob(r.Match) {
			if _, err := path.Match(r.Match, ""); err != nil {
				return fmt.Errorf("licenseTypes[%d]: bad pattern %q: %w", i, r.Match, err)
			}
		}
		seen[r.Match] = true
	}
	return nil
}

func isGlob(p string) bool { return strings.ContainsAny(p, `*?[\`) }
