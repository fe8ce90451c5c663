package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
)

// goldenSignals and goldenJSON are the same signals: the JSON is written out
// by hand, so the test checks the serialisation as well as the hash.
var goldenSignals = map[string]string{
	"platform":       "linux",
	"arch":           "amd64",
	"cpu_count":      "8",
	"cpu_model":      "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz",
	"memory_gib":     "16",
	"kernel":         "6.1",
	"hostname":       "build-01",
	"container":      "none",
	"virtualization": "none",
	"interfaces":     "eth0=52:54:00:12:34:56",
}

const goldenJSON = `{"arch":"amd64","container":"none","cpu_count":"8","cpu_model":"Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz","hostname":"build-01","interfaces":"eth0=52:54:00:12:34:56","kernel":"6.1","memory_gib":"16","platform":"linux","virtualization":"none"}`

func TestCodeForGolden(t *testing.T) {
	if got := string(canonicalJSON(goldenSignals)); got != goldenJSON {
		t.Fatalf("canonical JSON\n got %s\nwant %s", got, goldenJSON)
	}
	sum := sha256.Sum256([]byte(goldenJSON))
	want := "server_" + hex.EncodeToString(sum[:])[:16]
	if got := CodeFor(goldenSignals); got != want {
		t.Fatalf("CodeFor = %s, want %s", got, want)
	}
	// Pinned independently (printf '%s' "$goldenJSON" | sha256sum): a change
	// here changes every installed machine's code.
	if want != "server_c81e6df95ffc4b00" {
		t.Fatalf("golden code moved: %s", want)
	}
}

func TestCodeForEdgeCases(t *testing.T) {
	empty := sha256.Sum256([]byte("{}"))
	if got, want := CodeFor(nil), "server_"+hex.EncodeToString(empty[:])[:16]; got != want {
		t.Errorf("CodeFor(nil) = %s, want %s (hash of {})", got, want)
	}
	// No HTML escaping: the JSON is what JSON.stringify would give.
	if got := string(canonicalJSON(map[string]string{"b": "x<y&z>", "a": `q"\`})); got != `{"a":"q\"\\","b":"x<y&z>"}` {
		t.Errorf("canonical JSON = %s", got)
	}
	if !Valid(CodeFor(map[string]string{"a": "1"})) {
		t.Error("CodeFor result not Valid")
	}
}

func TestValid(t *testing.T) {
	for code, want := range map[string]bool{
		"server_0123456789abcdef":  true,
		"server_c81e6df95ffc4b00":  true,
		"server_0123456789ABCDEF":  false,
		"server_0123456789abcde":   false,
		"server_0123456789abcdef0": false,
		"Server_0123456789abcdef":  false,
		"client_0123456789abcdef":  false,
		"server_0123456789abcdeg":  false,
		"":                         false,
		" server_0123456789abcdef": false,
	} {
		if got := Valid(code); got != want {
			t.Errorf("Valid(%q) = %v, want %v", code, got, want)
		}
	}
}

// fakeSource is a machine with no readable files: only the injected
// hostname and interfaces, and the given environment.
func fakeSource(env map[string]string) Source {
	return Source{
		Root:       emptyFS{},
		Getenv:     func(k string) string { return env[k] },
		Hostname:   func() (string, error) { return "Build-01", nil },
		Interfaces: func() ([]net.Interface, error) { return []net.Interface{iface("eth0", "52:54:00:12:34:56", 0)}, nil },
		NumCPU:     func() int { return 4 },
	}
}

func TestOverride(t *testing.T) {
	const good, other = "server_00112233445566ff", "server_aabbccddeeff0011"
	base, err := Compute(Options{Source: fakeSource(nil)})
	if err != nil || base.Override || base.Code != base.Computed || !Valid(base.Code) {
		t.Fatalf("no override: %+v, %v", base, err)
	}

	tests := []struct {
		name     string
		option   string
		env      string
		wantCode string
		wantFrom string
		wantErr  bool
	}{
		{name: "option", option: good, wantCode: good, wantFrom: "option"},
		{name: "env", env: good, wantCode: good, wantFrom: "env LICENSEHOST_MACHINE_ID"},
		{name: "option beats env", option: good, env: other, wantCode: good, wantFrom: "option"},
		{name: "surrounding space trimmed", env: " " + good + "\n", wantCode: good, wantFrom: "env LICENSEHOST_MACHINE_ID"},
		{name: "uppercase hex", option: "server_00112233445566FF", wantErr: true},
		{name: "too short", env: "server_0011", wantErr: true},
		{name: "no prefix", option: "00112233445566ff", wantErr: true},
		{name: "invalid option beats valid env", option: "nope", env: good, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Override: tc.option, Source: fakeSource(map[string]string{EnvOverride: tc.env})}
			r, err := Compute(opts)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidOverride) {
					t.Fatalf("err = %v, want ErrInvalidOverride", err)
				}
				if r.Code != "" || r.Computed != base.Computed || len(r.Signals) == 0 {
					t.Fatalf("on error want empty Code and the signals: %+v", r)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Code != tc.wantCode || !r.Override || r.OverrideSource != tc.wantFrom {
				t.Fatalf("got code %s override %v from %q", r.Code, r.Override, r.OverrideSource)
			}
			if r.Computed != base.Computed {
				t.Fatalf("Computed %s, want %s", r.Computed, base.Computed)
			}
			if txt := r.Text(); !strings.Contains(txt, "override:     yes, from "+tc.wantFrom) || !strings.Contains(txt, base.Computed) {
				t.Fatalf("Text does not show the override:\n%s", txt)
			}
		})
	}
}

func TestOverrideErrorNamesValue(t *testing.T) {
	_, err := Compute(Options{Source: fakeSource(map[string]string{EnvOverride: "server_XYZ"})})
	if err == nil || !strings.Contains(err.Error(), `LICENSEHOST_MACHINE_ID is "server_XYZ"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestClassifyInterfaces(t *testing.T) {
	physical := map[string]bool{"eth0": true, "enp3s0": true, "wlan0": true, "eno1": true}
	notPhysical := func(name string) string {
		if physical[name] {
			return ""
		}
		return "virtual interface (no device)"
	}
	tests := []struct {
		ifc        net.Interface
		wantUsed   bool
		wantReason string
	}{
		{iface("eth0", "52:54:00:12:34:56", net.FlagUp), true, ""},
		{iface("enp3s0", "00:1B:21:3A:4F:5C", 0), true, ""}, // down still counts: unplugging a cable must not change the code
		{iface("lo", "", net.FlagLoopback), false, "loopback"},
		{iface("docker0", "02:42:ac:11:00:01", 0), false, "virtual interface (name docker*)"},
		{iface("veth1a2b3c", "ae:12:34:56:78:9a", 0), false, "virtual interface (name veth*)"},
		{iface("br-5f2e", "02:42:0a:00:00:01", 0), false, "virtual interface (name br-*)"},
		{iface("virbr0", "52:54:00:aa:bb:cc", 0), false, "virtual interface (name virbr*)"},
		{iface("cni0", "0a:58:0a:f4:00:01", 0), false, "virtual interface (name cni*)"},
		{iface("flannel.1", "6e:1d:00:00:00:01", 0), false, "virtual interface (name flannel*)"},
		{iface("tun0", "", net.FlagPointToPoint), false, "virtual interface (name tun*)"},
		{iface("tap3", "fe:54:00:00:00:01", 0), false, "virtual interface (name tap*)"},
		{iface("utun2", "", 0), false, "virtual interface (name utun*)"},
		{iface("vEthernet (WSL)", "00:15:5d:00:00:01", 0), false, "virtual interface (name veth*)"},
		{iface("VMware Network Adapter VMnet8", "00:50:56:c0:00:08", 0), false, "virtual interface (name *vmware*)"},
		{iface("Microsoft Wi-Fi Direct Virtual Adapter", "12:34:56:78:9a:bc", 0), false, "virtual interface (name *virtual*)"},
		{iface("wlan0", "", 0), false, "no MAC address"},
		{iface("eno1", "00:00:00:00:00:00", 0), false, "zero MAC address"},
		{iface("ppp0", "00:11:22:33:44:55", net.FlagPointToPoint), false, "point-to-point tunnel"},
		{iface("bond0", "00:11:22:33:44:55", 0), false, "virtual interface (no device)"},
	}
	var list []net.Interface
	want := map[string]Interface{}
	for _, tc := range tests {
		list = append(list, tc.ifc)
		want[tc.ifc.Name] = Interface{Name: tc.ifc.Name, MAC: tc.ifc.HardwareAddr.String(), Used: tc.wantUsed, Reason: tc.wantReason}
	}
	got := classifyInterfaces(list, notPhysical)
	if len(got) != len(tests) {
		t.Fatalf("got %d interfaces, want %d", len(got), len(tests))
	}
	for i, it := range got {
		if i > 0 && got[i-1].Name > it.Name {
			t.Errorf("not sorted: %s before %s", got[i-1].Name, it.Name)
		}
		if it != want[it.Name] {
			t.Errorf("%s: got %+v, want %+v", it.Name, it, want[it.Name])
		}
	}
	// MACs are rendered lowercase whatever the input's case.
	for _, it := range got {
		if it.MAC != strings.ToLower(it.MAC) {
			t.Errorf("%s: MAC %s not lowercase", it.Name, it.MAC)
		}
	}
	// Without an OS check, names and flags decide alone.
	if got := classifyInterfaces([]net.Interface{iface("bond0", "00:11:22:33:44:55", 0)}, nil); !got[0].Used {
		t.Errorf("bond0 without an OS check: %+v", got[0])
	}
}

func TestInterfaceOrderDoesNotMatter(t *testing.T) {
	a, b := iface("eth0", "52:54:00:12:34:56", 0), iface("eth1", "52:54:00:12:34:57", 0)
	code := func(list ...net.Interface) string {
		src := fakeSource(nil)
		src.Interfaces = func() ([]net.Interface, error) { return list, nil }
		r, err := Compute(Options{Source: src})
		if err != nil {
			t.Fatal(err)
		}
		return r.Code
	}
	if code(a, b) != code(b, a) {
		t.Fatal("interface order changed the code")
	}
	if code(a, b) == code(a) {
		t.Fatal("a second physical interface did not change the code")
	}
}

func TestReportInvariants(t *testing.T) {
	r, err := Compute(Options{Source: fakeSource(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if CodeFor(r.SignalMap()) != r.Computed {
		t.Fatal("CodeFor(SignalMap()) != Computed")
	}
	var names []string
	for _, s := range r.Signals {
		names = append(names, s.Name)
		if s.Used == (s.Reason != "") {
			t.Errorf("%s: used %v with reason %q", s.Name, s.Used, s.Reason)
		}
		if s.Used && s.Value == "" {
			t.Errorf("%s: used with an empty value", s.Name)
		}
	}
	wantNames := []string{"platform", "arch", "cpu_count", "cpu_model", "memory_gib", "kernel", "hostname", "container", "virtualization", "machine_id", "interfaces"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("signal order %v", names)
	}
	m := r.SignalMap()
	if m["hostname"] != "build-01" {
		t.Errorf("hostname %q, want lower-cased build-01", m["hostname"])
	}
	if m["interfaces"] != "eth0=52:54:00:12:34:56" {
		t.Errorf("interfaces %q", m["interfaces"])
	}

	// The JSON form carries the documented field names.
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"code":`, `"computed":`, `"override":false`, `"container":`, `"signals":[`, `"interfaces":[`, `"used":true`, `"name":"platform"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
	txt := r.Text()
	for _, want := range []string{"machine code: " + r.Code, "override:     no", "[x]  hostname", "[x]  eth0"} {
		if !strings.Contains(txt, want) {
			t.Errorf("Text lacks %q:\n%s", want, txt)
		}
	}
}

func TestInterfacesError(t *testing.T) {
	src := fakeSource(nil)
	src.Interfaces = func() ([]net.Interface, error) { return nil, errors.New("netlink: permission denied") }
	r, err := Compute(Options{Source: src})
	if err != nil || !Valid(r.Code) {
		t.Fatalf("%v %+v", err, r)
	}
	if _, ok := r.SignalMap()["interfaces"]; ok {
		t.Error("interfaces counted although listing failed")
	}
	if !strings.Contains(r.Text(), "netlink: permission denied") {
		t.Errorf("Text does not say why:\n%s", r.Text())
	}
}

func TestDiffSignals(t *testing.T) {
	old := map[string]string{"kernel": "6.1", "hostname": "a", "interfaces": "eth0=x"}
	cur := map[string]string{"kernel": "6.2", "hostname": "a", "machine_id": "m"}
	want := []Change{
		{Name: "interfaces", Old: "eth0=x"},
		{Name: "kernel", Old: "6.1", New: "6.2"},
		{Name: "machine_id", New: "m"},
	}
	if got := DiffSignals(old, cur); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	if got := DiffSignals(cur, cur); len(got) != 0 {
		t.Fatalf("no change expected: %+v", got)
	}
}

func iface(name, mac string, flags net.Flags) net.Interface {
	ifc := net.Interface{Name: name, Flags: flags}
	if mac != "" {
		hw, err := net.ParseMAC(mac)
		if err != nil {
			panic(err)
		}
		ifc.HardwareAddr = hw
	}
	return ifc
}
