// The install test of the .deb packages that
// `make package` builds (docs/install.md): it unpacks them into a scratch
// root, checks their contents, modes, maintainer scripts and systemd units,
// and starts the installed binaries with the packaged defaults.
//
// It runs under `make test-package`, which builds the packages first and
// sets LICENSEHOST_PACKAGE_DIR; without it the package tests skip.
package packaging_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/licensehost/licensehost/internal/e2etest"
)

// repoRoot is the repository root (the tests run in packaging/).
const repoRoot = ".."

// maxExposure bounds `systemd-analyze security` of both units (0 best, 10
// worst); docs/install.md records the measured figures.
const maxExposure = 2.0

func packageDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LICENSEHOST_PACKAGE_DIR")
	if dir == "" {
		t.Skip("LICENSEHOST_PACKAGE_DIR not set: run make test-package")
	}
	return dir
}

// findDeb returns the one NAME_*.deb of dir.
func findDeb(t *testing.T, dir, name string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, name+"_*.deb"))
	if err != nil || len(m) != 1 {
		t.Fatalf("want exactly one %s_*.deb in %s, got %v (%v)", name, dir, m, err)
	}
	return m[0]
}

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (make deps installs it): %v", tool, err)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// control returns the control fields of a .deb.
func control(t *testing.T, deb string) map[string]string {
	t.Helper()
	f := map[string]string{}
	var last string
	for _, line := range strings.Split(run(t, "dpkg-deb", "-f", deb), "\n") {
		if strings.HasPrefix(line, " ") && last != "" {
			f[last] += "\n" + line
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if ok {
			last = k
			f[k] = strings.TrimSpace(v)
		}
	}
	return f
}

type entry struct {
	mode, owner string
}

// listing returns path → mode and owner of every entry of a .deb's data.
func listing(t *testing.T, deb string) map[string]entry {
	t.Helper()
	m := map[string]entry{}
	for _, line := range strings.Split(strings.TrimSpace(run(t, "dpkg-deb", "-c", deb)), "\n") {
		fs := strings.Fields(line)
		if len(fs) < 6 {
			t.Fatalf("dpkg-deb -c: odd line %q", line)
		}
		p := strings.TrimSuffix(strings.TrimPrefix(fs[5], "."), "/")
		if p == "" {
			continue
		}
		m[p] = entry{mode: fs[0], owner: fs[1]}
	}
	return m
}

// checkFiles asserts the exact file list of a package with modes and owners.
func checkFiles(t *testing.T, deb string, want map[string]string) {
	t.Helper()
	got := listing(t, deb)
	for p, e := range got {
		if e.owner != "root/root" {
			t.Errorf("%s: %s owned by %s, want root/root", filepath.Base(deb), p, e.owner)
		}
		if strings.HasPrefix(e.mode, "d") {
			if e.mode != "drwxr-xr-x" {
				t.Errorf("%s: directory %s mode %s", filepath.Base(deb), p, e.mode)
			}
			continue
		}
		mode, ok := want[p]
		if !ok {
			t.Errorf("%s: unexpected file %s", filepath.Base(deb), p)
			continue
		}
		if e.mode != mode {
			t.Errorf("%s: %s mode %s, want %s", filepath.Base(deb), p, e.mode, mode)
		}
	}
	for p := range want {
		if _, ok := got[p]; !ok {
			t.Errorf("%s: missing %s", filepath.Base(deb), p)
		}
	}
}

// controlFile returns one file of a .deb's control archive.
func controlFile(t *testing.T, deb, name string) string {
	t.Helper()
	dir := t.TempDir()
	run(t, "dpkg-deb", "-e", deb, dir)
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func extract(t *testing.T, deb string) string {
	t.Helper()
	root := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, root)
	return root
}

// pkgVersion is what `make package` named the packages after: the
// Makefile's PKG_VERSION, else what packaging/version.sh says now.
func pkgVersion(t *testing.T) string {
	t.Helper()
	if v := os.Getenv("LICENSEHOST_PACKAGE_VERSION"); v != "" {
		return v
	}
	return strings.TrimSpace(run(t, filepath.Join(repoRoot, "packaging", "version.sh")))
}

func checkControl(t *testing.T, deb, name string, depends ...string) {
	t.Helper()
	c := control(t, deb)
	if c["Package"] != name {
		t.Errorf("Package %q, want %q", c["Package"], name)
	}
	if want := pkgVersion(t) + "-1"; c["Version"] != want {
		t.Errorf("Version %q, want %q (packaging/version.sh)", c["Version"], want)
	}
	if c["Architecture"] != runtime.GOARCH {
		t.Errorf("Architecture %q, want %q", c["Architecture"], runtime.GOARCH)
	}
	deps := strings.Split(c["Depends"], ",")
	for i := range deps {
		deps[i] = strings.TrimSpace(deps[i])
	}
	for _, d := range depends {
		if !slices.Contains(deps, d) {
			t.Errorf("Depends %q lacks %s", c["Depends"], d)
		}
	}
	if c["Description"] == "" || c["Maintainer"] == "" {
		t.Errorf("Description or Maintainer empty: %v", c)
	}
}

// unit is a parsed systemd unit file: key → values in order.
type unit map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: odd line %q", path, line)
		}
		u[k] = append(u[k], v)
	}
	return u
}

func (u unit) one(t *testing.T, key string) string {
	t.Helper()
	if len(u[key]) != 1 {
		t.Fatalf("unit: want one %s=, got %q", key, u[key])
	}
	return u[key][0]
}

// checkUnit asserts the settings the issue asks for, verifies the unit with
// systemd-analyze and returns its exposure level.
func checkUnit(t *testing.T, root, name string) unit {
	t.Helper()
	path := filepath.Join(root, "usr/lib/systemd/system", name+".service")
	u := parseUnit(t, path)
	want := map[string]string{
		"User": name, "Group": name, "StateDirectory": name, "Restart": "on-failure", "RestartPreventExitStatus": "2",
		"KillSignal": "SIGTERM", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
		"ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
		"CapabilityBoundingSet": "", "SystemCallArchitectures": "native",
		"SystemCallErrorNumber": "EPERM", "EnvironmentFile": "-/etc/default/" + name,
		"WantedBy": "multi-user.target",
	}
	for k, v := range want {
		if got := u.one(t, k); got != v {
			t.Errorf("%s: %s=%q, want %q", name, k, got, v)
		}
	}
	if !slices.Contains(u["SystemCallFilter"], "@system-service") {
		t.Errorf("%s: SystemCallFilter %q lacks @system-service", name, u["SystemCallFilter"])
	}
	if fams := u.one(t, "RestrictAddressFamilies"); !strings.Contains(fams, "AF_INET") || strings.Contains(fams, "AF_PACKET") {
		t.Errorf("%s: RestrictAddressFamilies=%s", name, fams)
	}
	if exec := u.one(t, "ExecStart"); !strings.HasPrefix(exec, "/usr/bin/"+name+" serve") {
		t.Errorf("%s: ExecStart=%s", name, exec)
	}

	// systemd-analyze verify resolves Exec paths on this machine: map
	// /usr/bin/ into the scratch root, so the check also proves the
	// binaries are where the unit runs them.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vdir := t.TempDir()
	mapped := filepath.Join(vdir, name+".service")
	if err := os.WriteFile(mapped, bytes.ReplaceAll(b, []byte("/usr/bin/"), []byte(filepath.Join(root, "usr/bin")+"/")), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("systemd-analyze", "verify", "--man=no", mapped)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
	}

	out, err = exec.Command("systemd-analyze", "security", "--offline=yes", "--no-pager", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security %s: %v\n%s", name, err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security %s: no exposure level in\n%s", name, out)
	}
	level, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security %s.service: exposure %.1f", name, level)
	if level > maxExposure {
		t.Errorf("%s.service exposure %.1f > %.1f", name, level, maxExposure)
	}
	return u
}

// checkSysusers creates the package's users in a scratch /etc with
// systemd-sysusers and checks them.
func checkSysusers(t *testing.T, root, name string) {
	t.Helper()
	sroot := t.TempDir()
	conf := filepath.Join(sroot, "usr/lib/sysusers.d")
	for _, d := range []string{conf, filepath.Join(sroot, "etc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(root, "usr/lib/sysusers.d", name+".conf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, name+".conf"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "systemd-sysusers", "--root="+sroot)
	passwd, _ := os.ReadFile(filepath.Join(sroot, "etc/passwd"))
	group, _ := os.ReadFile(filepath.Join(sroot, "etc/group"))
	re := regexp.MustCompile(`(?m)^` + name + `:x:(\d+):(\d+):[^:]*:/var/lib/` + name + `:/usr/sbin/nologin$`)
	pm := re.FindSubmatch(passwd)
	if pm == nil {
		t.Fatalf("sysusers: no system user %s in\n%s", name, passwd)
	}
	if uid, _ := strconv.Atoi(string(pm[1])); uid == 0 || uid >= 1000 {
		t.Errorf("sysusers: %s uid %d is not a system uid", name, uid)
	}
	if !regexp.MustCompile(`(?m)^` + name + `:x:` + string(pm[2]) + `:`).Match(group) {
		t.Errorf("sysusers: no group %s with gid %s in\n%s", name, pm[2], group)
	}
}

// scriptRun runs a maintainer script with recording stubs for every command
// it may call, and returns the recorded calls, one a line.
func scriptRun(t *testing.T, script string, exists bool, args ...string) []string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "calls")
	getent := 2 // not found
	if exists {
		getent = 0
	}
	for tool, status := range map[string]int{"getent": getent, "groupadd": 0, "useradd": 0, "install": 0,
		"systemctl": 0, "rm": 0, "chown": 0, "chmod": 0, "userdel": 0, "groupdel": 0, "adduser": 0, "addgroup": 0} {
		stub := fmt.Sprintf("#!/bin/sh\necho \"%s $*\" >> %s\nexit %d\n", tool, log, status)
		if err := os.WriteFile(filepath.Join(bin, tool), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sp := filepath.Join(dir, "script")
	if err := os.WriteFile(sp, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", append([]string{sp}, args...)...)
	cmd.Env = []string{"PATH=" + bin}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("script %v: %v\n%s", args, err, out)
	}
	b, _ := os.ReadFile(log)
	var calls []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" && !strings.HasPrefix(l, "getent ") {
			calls = append(calls, l)
		}
	}
	return calls
}

// checkScripts runs postinst, prerm and postrm as deb and rpm call them.
func checkScripts(t *testing.T, deb, name, dataMode string) {
	t.Helper()
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd is running here: the scripts would talk to it; run on a machine without systemd as PID 1")
	}
	if _, err := os.Stat("/var/lib/" + name); err == nil {
		t.Skipf("/var/lib/%s exists here: the postinst would not create it", name)
	}
	postinst := controlFile(t, deb, "postinst")
	nologin := "/usr/sbin/nologin"
	if _, err := os.Stat(nologin); err != nil {
		nologin = "/sbin/nologin"
	}
	fresh := []string{
		"groupadd --system " + name,
		"useradd --system --gid " + name + " --home-dir /var/lib/" + name + " --no-create-home --shell " + nologin + " --comment " + map[string]string{"licensehost": "licensehost daemon", "licensed": "licensed license server"}[name] + " " + name,
		"install -d -o " + name + " -g " + name + " -m " + dataMode + " /var/lib/" + name,
	}
	enable := "systemctl enable " + name + ".service"
	for _, c := range []struct {
		args  []string
		first bool
	}{{[]string{"configure", ""}, true}, {[]string{"configure"}, true}, {[]string{"1"}, true},
		{[]string{"configure", "0.0.1-1"}, false}, {[]string{"2"}, false}} {
		want, wantExists := fresh, fresh[2:]
		if c.first {
			// A first install enables the service (offline: no running systemd here).
			want, wantExists = append(slices.Clone(fresh), enable), append(slices.Clone(fresh[2:]), enable)
		}
		if got := scriptRun(t, postinst, false, c.args...); !slices.Equal(got, want) {
			t.Errorf("postinst %q (no user yet): calls\n%s\nwant\n%s", c.args, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// The user exists: no useradd.
		if got := scriptRun(t, postinst, true, c.args...); !slices.Equal(got, wantExists) {
			t.Errorf("postinst %q (user exists): calls %q, want %q", c.args, got, wantExists)
		}
	}
	for _, args := range [][]string{{"abort-upgrade", "1"}, {"triggered"}} {
		if got := scriptRun(t, postinst, false, args...); len(got) != 0 {
			t.Errorf("postinst %q: calls %q, want none", args, got)
		}
	}
	postrm := controlFile(t, deb, "postrm")
	purge := []string{"rm -rf /var/lib/" + name, "rm -f /etc/systemd/system/multi-user.target.wants/" + name + ".service"}
	if name == "licensehost" {
		purge[0] += " /etc/licensehost"
	}
	if got := scriptRun(t, postrm, true, "purge"); !slices.Equal(got, purge) {
		t.Errorf("postrm purge: calls %q, want %q", got, purge)
	}
	for _, args := range [][]string{{"remove"}, {"upgrade", "1"}, {"0"}, {"1"}} {
		if got := scriptRun(t, postrm, true, args...); len(got) != 0 {
			t.Errorf("postrm %q: calls %q, want none: data and user stay", args, got)
		}
	}
	// deb "remove" keeps the enable link (a reinstall restores the service
	// as it was); rpm erase ("0") disables. Stopping needs a running systemd.
	prerm := controlFile(t, deb, "prerm")
	for _, c := range []struct {
		args []string
		want []string
	}{{[]string{"remove"}, nil}, {[]string{"upgrade", "1"}, nil}, {[]string{"0"}, []string{"systemctl disable " + name + ".service"}}, {[]string{"1"}, nil}} {
		if got := scriptRun(t, prerm, true, c.args...); !slices.Equal(got, c.want) {
			t.Errorf("prerm %q without systemd: calls %q, want %q", c.args, got, c.want)
		}
	}
	if !strings.Contains(prerm, "systemctl stop "+name+".service") {
		t.Errorf("prerm does not stop the service")
	}
	for _, s := range []string{"systemctl start \"$NAME.service\"", "systemctl try-restart \"$NAME.service\""} {
		if !strings.Contains(postinst, s) {
			t.Errorf("postinst lacks %q", s)
		}
	}
}

// serviceEnv is the environment systemd gives the unit's ExecStart: its
// Environment= lines with %S as root/var/lib, then the EnvironmentFile's
// assignments, and HOME as the service user's home.
func serviceEnv(t *testing.T, root string, u unit, name string) []string {
	t.Helper()
	state := filepath.Join(root, "var/lib")
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + filepath.Join(state, name), "STATE_DIRECTORY=" + filepath.Join(state, name)}
	for _, e := range u["Environment"] {
		e = strings.ReplaceAll(e, "%S", state)
		e = strings.ReplaceAll(e, "=/etc/", "="+filepath.Join(root, "etc")+"/")
		env = append(env, e)
	}
	b, err := os.ReadFile(filepath.Join(root, "etc/default", name))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && line[0] != '#' {
			env = append(env, line)
		}
	}
	return env
}

// daemon is a started binary whose output is collected.
type daemon struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func (d *daemon) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.Write(p)
}

func (d *daemon) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

func start(t *testing.T, env []string, bin string, args ...string) *daemon {
	t.Helper()
	d := &daemon{done: make(chan error, 1)}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Env = env
	d.cmd.Stdout, d.cmd.Stderr = d, d
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
	return d
}

// waitFor polls the output for a regexp; the bound leaves room for a
// loaded machine.
func (d *daemon) waitFor(t *testing.T, re string) []string {
	t.Helper()
	r := regexp.MustCompile(re)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := r.FindStringSubmatch(d.output()); m != nil {
			return m
		}
		select {
		case err := <-d.done:
			d.done <- err
			if m := r.FindStringSubmatch(d.output()); m != nil {
				return m
			}
			t.Fatalf("exited (%v) before %q:\n%s", err, re, d.output())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("no %q within 60s:\n%s", re, d.output())
	return nil
}

// stop sends SIGTERM and expects a clean exit within the unit's stop timeout.
func (d *daemon) stop(t *testing.T, timeout time.Duration) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, d.output())
		}
	case <-time.After(timeout):
		t.Fatalf("still running %v after SIGTERM:\n%s", timeout, d.output())
	}
}

func httpGet(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	return e2etest.Request(t, http.MethodGet, url, token, nil)
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func readToken(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestHostPackage(t *testing.T) {
	need(t, "dpkg-deb", "systemd-analyze", "systemd-sysusers")
	deb := findDeb(t, packageDir(t), "licensehost")
	checkControl(t, deb, "licensehost", "passwd")
	checkFiles(t, deb, map[string]string{
		"/usr/bin/licensehost":                        "-rwxr-xr-x",
		"/usr/lib/systemd/system/licensehost.service": "-rw-r--r--",
		"/usr/lib/sysusers.d/licensehost.conf":        "-rw-r--r--",
		"/etc/default/licensehost":                    "-rw-r--r--",
		"/etc/licensehost/policies/policies.json":     "-rw-r--r--",
		"/usr/share/doc/licensehost/install.md":       "-rw-r--r--",
	})
	if got := strings.Fields(controlFile(t, deb, "conffiles")); !slices.Equal(got, []string{"/etc/default/licensehost", "/etc/licensehost/policies/policies.json"}) {
		t.Errorf("conffiles %q", got)
	}
	root := extract(t, deb)
	u := checkUnit(t, root, "licensehost")
	if got := u.one(t, "StateDirectoryMode"); got != "0750" {
		t.Errorf("StateDirectoryMode=%s: the licensehost group must reach app.token", got)
	}
	if got := u.one(t, "ExecReload"); got != "/bin/kill -HUP $MAINPID" {
		t.Errorf("ExecReload=%s", got)
	}
	t.Run("sysusers", func(t *testing.T) { checkSysusers(t, root, "licensehost") })
	t.Run("scripts", func(t *testing.T) { checkScripts(t, deb, "licensehost", "0750") })

	t.Run("starts", func(t *testing.T) {
		bin := filepath.Join(root, "usr/bin/licensehost")
		if got, want := strings.TrimSpace(run(t, bin, "version")), "licensehost "+pkgVersion(t); got != want {
			t.Errorf("version: %q, want %q", got, want)
		}
		// What systemd does before ExecStart: the state directory, 0750.
		data := filepath.Join(root, "var/lib/licensehost")
		if err := os.MkdirAll(data, 0o750); err != nil {
			t.Fatal(err)
		}
		env := serviceEnv(t, root, u, "licensehost")
		// The one deviation from the packaged defaults: a free port, since
		// 127.0.0.1:7474 may be taken on a shared machine.
		env = append(env, "LICENSEHOST_LISTEN=127.0.0.1:0")
		args := strings.Fields(u.one(t, "ExecStart"))[1:]

		// A bad setting in /etc/default/licensehost: exit status 2, which
		// RestartPreventExitStatus= keeps from a restart loop.
		bad := exec.Command(bin, args...)
		bad.Env = append(slices.Clone(env), "LICENSEHOST_LISTEN=nonsense")
		if out, err := bad.CombinedOutput(); bad.ProcessState == nil || bad.ProcessState.ExitCode() != 2 {
			t.Errorf("a bad setting: %v, want exit status 2\n%s", err, out)
		}

		d := start(t, env, bin, args...)
		base := d.waitFor(t, `listening on (http://127\.0\.0\.1:\d+)`)[1]

		if code, body := httpGet(t, base+"/healthz", ""); code != http.StatusOK {
			t.Fatalf("/healthz: %d %s", code, body)
		}
		adminFile, appFile := filepath.Join(data, "admin.token"), filepath.Join(data, "app.token")
		if m := fileMode(t, adminFile); m != 0o600 {
			t.Errorf("admin.token mode %04o, want 0600", m)
		}
		if m := fileMode(t, appFile); m != 0o640 {
			t.Errorf("app.token mode %04o, want 0640 (group licensehost reads it)", m)
		}
		admin, app := readToken(t, adminFile), readToken(t, appFile)
		code, body := httpGet(t, base+"/api/sponsor/status", admin)
		var st struct {
			Status string `json:"status"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &st) != nil || st.Status != "community" {
			t.Errorf("status with the admin token: %d %s", code, body)
		}
		if code, body := httpGet(t, base+"/api/sponsor/status", app); code != http.StatusOK {
			t.Errorf("status with the app token: %d %s", code, body)
		}
		if code, body := e2etest.Request(t, http.MethodPost, base+"/api/sponsor/clear", app, nil); code != http.StatusForbidden {
			t.Errorf("clear with the app token: %d %s, want 403", code, body)
		}
		if code, _ := httpGet(t, base+"/api/sponsor/status", ""); code != http.StatusUnauthorized {
			t.Errorf("status without a token: %d, want 401", code)
		}
		if strings.Contains(d.output(), admin) || strings.Contains(d.output(), app) {
			t.Error("a token appears in the output")
		}

		// ExecReload: SIGHUP reloads the policy directory; the operator added
		// a WebAssembly module, which the daemon compiles in a child process
		// of its own (installed) binary.
		wasm, err := os.ReadFile(filepath.Join(repoRoot, "plugins/wasm/testdata/builtin.wasm"))
		if err != nil {
			t.Fatal(err)
		}
		pdir := filepath.Join(root, "etc/licensehost/policies")
		if err := os.WriteFile(filepath.Join(pdir, "counter.wasm"), wasm, 0o644); err != nil {
			t.Fatal(err)
		}
		manifest := fmt.Sprintf(`{"version": 1, "modules": {"counter": {"kind": "wasm", "path": "counter.wasm", "sha256": "%x"}},
			"licenseTypes": [{"match": "default", "module": "counter"}]}`, sha256.Sum256(wasm))
		if err := os.WriteFile(filepath.Join(pdir, "policies.json"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		d.waitFor(t, `SIGHUP: policies reloaded.*counter`)
		if code, _ := httpGet(t, base+"/healthz", ""); code != http.StatusOK {
			t.Fatalf("/healthz after SIGHUP: %d", code)
		}
		// Graceful stop within TimeoutStopSec.
		d.stop(t, 30*time.Second)
		if !strings.Contains(d.output(), "stopped") {
			t.Errorf("no clean stop in the log:\n%s", d.output())
		}

		// A restart keeps the tokens.
		d = start(t, env, bin, args...)
		base = d.waitFor(t, `listening on (http://127\.0\.0\.1:\d+)`)[1]
		if code, body := httpGet(t, base+"/api/sponsor/status", app); code != http.StatusOK {
			t.Errorf("app token after a restart: %d %s", code, body)
		}
		if readToken(t, adminFile) != admin || readToken(t, appFile) != app {
			t.Error("a restart changed a token")
		}
		if strings.Contains(d.output(), "readable by other users") {
			t.Errorf("the daemon warns about its own group-readable app token:\n%s", d.output())
		}

		// docs/install.md "Backup": licensehost backup through the running
		// daemon, restore into an empty directory, start on it: the same
		// tokens, and app.token group-readable again.
		cli := func(args ...string) string {
			t.Helper()
			cmd := exec.Command(bin, args...)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + data, "LICENSEHOST_DATA_DIR=" + data, "LICENSEHOST_URL=" + base}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("licensehost %v: %v\n%s", args, err, out)
			}
			return string(out)
		}
		backup := filepath.Join(t.TempDir(), "backup.tar.gz")
		cli("backup", backup)
		d.stop(t, 30*time.Second)
		restored := filepath.Join(root, "var/lib/restored")
		cli("restore", backup, "--data-dir", restored)
		// As restore writes it, or an operator's chmod leaves it.
		if err := os.Chmod(filepath.Join(restored, "app.token"), 0o600); err != nil {
			t.Fatal(err)
		}
		renv := append(slices.Clone(env), "LICENSEHOST_DATA_DIR="+restored, "LICENSEHOST_APP_TOKEN_FILE="+filepath.Join(restored, "app.token"))
		d = start(t, renv, bin, args...)
		base = d.waitFor(t, `listening on (http://127\.0\.0\.1:\d+)`)[1]
		if m := fileMode(t, filepath.Join(restored, "app.token")); m != 0o640 {
			t.Errorf("restored app.token mode %04o after start, want 0640", m)
		}
		if code, body := httpGet(t, base+"/api/sponsor/status", app); code != http.StatusOK {
			t.Errorf("the app token after a restore: %d %s", code, body)
		}
		if code, body := httpGet(t, base+"/api/sponsor/status", admin); code != http.StatusOK {
			t.Errorf("the admin token after a restore: %d %s", code, body)
		}
		d.stop(t, 30*time.Second)
	})

	// What the unit's User=, NoNewPrivileges= and UMask= do, without systemd:
	// the daemon runs as an unprivileged user with no new privileges and
	// umask 0077, creates its tokens with the modes above, and computes the
	// same machine code as root's `licensehost machine-id`.
	t.Run("unprivileged", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to change user")
		}
		need(t, "setpriv")
		const nobody = 65534
		dir := t.TempDir()
		for _, d := range []string{dir, filepath.Dir(dir)} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		bin := filepath.Join(dir, "licensehost")
		b, err := os.ReadFile(filepath.Join(root, "usr/bin/licensehost"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
		policies := filepath.Join(dir, "policies")
		if err := os.Mkdir(policies, 0o755); err != nil {
			t.Fatal(err)
		}
		// The policy directory as "starts" left it: a WebAssembly module,
		// compiled by a child of the unprivileged daemon.
		files, err := filepath.Glob(filepath.Join(root, "etc/licensehost/policies/*"))
		if err != nil || len(files) < 2 {
			t.Fatalf("policy directory: %v %v", files, err)
		}
		for _, f := range files {
			if b, err = os.ReadFile(f); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(policies, filepath.Base(f)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		data := filepath.Join(dir, "data")
		if err := os.Mkdir(data, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(data, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		env := append(serviceEnv(t, root, u, "licensehost"), "LICENSEHOST_LISTEN=127.0.0.1:0", "HOME="+data,
			"LICENSEHOST_DATA_DIR="+data, "LICENSEHOST_APP_TOKEN_FILE="+filepath.Join(data, "app.token"),
			"LICENSEHOST_POLICY_DIR="+policies)
		as := func(args ...string) []string {
			id := strconv.Itoa(nobody)
			return append([]string{"--reuid=" + id, "--regid=" + id, "--clear-groups", "--no-new-privs",
				"/bin/sh", "-c", `umask 0077; exec "$0" "$@"`}, args...)
		}
		d := start(t, env, "setpriv", as(bin, "serve")...)
		base := d.waitFor(t, `listening on (http://127\.0\.0\.1:\d+)`)[1]
		d.waitFor(t, `msg=started .*policy=default→wasm:counter`)
		if code, body := httpGet(t, base+"/healthz", ""); code != http.StatusOK {
			t.Fatalf("/healthz: %d %s", code, body)
		}
		for name, mode := range map[string]os.FileMode{"admin.token": 0o600, "app.token": 0o640} {
			fi, err := os.Stat(filepath.Join(data, name))
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode().Perm() != mode || st.Uid != nobody || st.Gid != nobody {
				t.Errorf("%s: mode %04o owner %d:%d, want %04o %d:%d", name, fi.Mode().Perm(), st.Uid, st.Gid, mode, nobody, nobody)
			}
		}
		code, body := httpGet(t, base+"/api/sponsor/machine-id", readToken(t, filepath.Join(data, "admin.token")))
		var mid struct {
			MachineID string `json:"machineId"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &mid) != nil || mid.MachineID == "" {
			t.Fatalf("machine-id: %d %s", code, body)
		}
		if asRoot := strings.TrimSpace(run(t, bin, "machine-id")); asRoot != mid.MachineID {
			t.Errorf("machine code: the unprivileged daemon %s, root's CLI %s", mid.MachineID, asRoot)
		}
		d.stop(t, 30*time.Second)
	})
}

func TestLicensedPackage(t *testing.T) {
	need(t, "dpkg-deb", "systemd-analyze", "systemd-sysusers")
	deb := findDeb(t, packageDir(t), "licensed")
	checkControl(t, deb, "licensed", "passwd")
	checkFiles(t, deb, map[string]string{
		"/usr/bin/licensed":                        "-rwxr-xr-x",
		"/usr/lib/systemd/system/licensed.service": "-rw-r--r--",
		"/usr/lib/sysusers.d/licensed.conf":        "-rw-r--r--",
		"/etc/default/licensed":                    "-rw-r--r--",
		"/usr/share/doc/licensed/install.md":       "-rw-r--r--",
		"/usr/share/doc/licensed/licensed.md":      "-rw-r--r--",
	})
	root := extract(t, deb)
	u := checkUnit(t, root, "licensed")
	if got := u.one(t, "StateDirectoryMode"); got != "0700" {
		t.Errorf("StateDirectoryMode=%s, want 0700", got)
	}
	t.Run("sysusers", func(t *testing.T) { checkSysusers(t, root, "licensed") })
	t.Run("scripts", func(t *testing.T) { checkScripts(t, deb, "licensed", "0700") })

	t.Run("starts", func(t *testing.T) {
		data := filepath.Join(root, "var/lib/licensed")
		if err := os.MkdirAll(data, 0o700); err != nil {
			t.Fatal(err)
		}
		env := serviceEnv(t, root, u, "licensed")
		env = append(env, "LICENSED_LISTEN=127.0.0.1:0")
		// ExecStartPre, with /usr/bin/ mapped into the scratch root: the
		// first start initializes, the next ones leave the keys alone.
		pre := strings.ReplaceAll(u.one(t, "ExecStartPre"), "/usr/bin/", filepath.Join(root, "usr/bin")+"/")
		pre = strings.ReplaceAll(pre, "$$", "$") // systemd's escape of "$"
		shArgs := regexp.MustCompile(`^/bin/sh -c '(.*)'$`).FindStringSubmatch(pre)
		if shArgs == nil {
			t.Fatalf("ExecStartPre=%s", pre)
		}
		for i := 0; i < 2; i++ {
			cmd := exec.Command("/bin/sh", "-c", shArgs[1])
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ExecStartPre run %d: %v\n%s", i+1, err, out)
			}
			if i == 0 {
				key, err := os.ReadFile(filepath.Join(data, "signing.key"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if again, _ := os.ReadFile(filepath.Join(data, "signing.key")); !bytes.Equal(again, key) {
						t.Error("the second ExecStartPre replaced the signing key")
					}
				})
			}
		}
		for _, f := range []string{"signing.key", "admin.token"} {
			if m := fileMode(t, filepath.Join(data, f)); m != 0o600 {
				t.Errorf("%s mode %04o, want 0600", f, m)
			}
		}
		bin := filepath.Join(root, "usr/bin/licensed")
		args := strings.Fields(u.one(t, "ExecStart"))[1:]
		bad := exec.Command(bin, args...)
		bad.Env = append(slices.Clone(env), "LICENSED_LISTEN=nonsense")
		if out, err := bad.CombinedOutput(); bad.ProcessState == nil || bad.ProcessState.ExitCode() != 2 {
			t.Errorf("a bad setting: %v, want exit status 2\n%s", err, out)
		}
		d := start(t, env, bin, args...)
		base := d.waitFor(t, `url=(http://127\.0\.0\.1:\d+)`)[1]
		if code, body := httpGet(t, base+"/healthz", ""); code != http.StatusOK {
			t.Fatalf("/healthz: %d %s", code, body)
		}
		// docs/install.md: the admin CLI on the running server's data directory.
		admin := func(args ...string) string {
			t.Helper()
			cmd := exec.Command(bin, args...)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("licensed %v: %v\n%s", args, err, out)
			}
			return string(out)
		}
		pub := strings.TrimSpace(admin("pubkey"))
		admin("type", "add", "pro", "--max-devices", "2")
		var issued struct {
			Key string `json:"key"`
		}
		if out := admin("key", "issue", "--type", "pro", "--json"); json.Unmarshal([]byte(out), &issued) != nil || issued.Key == "" {
			t.Fatalf("key issue: %s", out)
		}

		// The appliance: the packaged host, pinned to this server's key,
		// activates the issued key with its CLI.
		hroot := extract(t, findDeb(t, packageDir(t), "licensehost"))
		hu := parseUnit(t, filepath.Join(hroot, "usr/lib/systemd/system/licensehost.service"))
		hdata := filepath.Join(hroot, "var/lib/licensehost")
		if err := os.MkdirAll(hdata, 0o750); err != nil {
			t.Fatal(err)
		}
		hbin := filepath.Join(hroot, "usr/bin/licensehost")
		henv := append(serviceEnv(t, hroot, hu, "licensehost"), "LICENSEHOST_LISTEN=127.0.0.1:0",
			"LICENSEHOST_LICENSE_SERVER="+base, "LICENSEHOST_SERVER_PUBLIC_KEY="+pub)
		h := start(t, henv, hbin, strings.Fields(hu.one(t, "ExecStart"))[1:]...)
		hbase := h.waitFor(t, `listening on (http://127\.0\.0\.1:\d+)`)[1]
		cli := exec.Command(hbin, "activate", issued.Key, "--json")
		cli.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + hdata, "LICENSEHOST_DATA_DIR=" + hdata, "LICENSEHOST_URL=" + hbase}
		if out, err := cli.CombinedOutput(); err != nil {
			t.Fatalf("licensehost activate: %v\n%s\nhost:\n%s\nlicensed:\n%s", err, out, h.output(), d.output())
		}
		code, body := httpGet(t, hbase+"/api/sponsor/status", readToken(t, filepath.Join(hdata, "app.token")))
		var st struct {
			Status string `json:"status"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &st) != nil || st.Status != "active" {
			t.Errorf("status after activation: %d %s", code, body)
		}
		if strings.Contains(h.output(), issued.Key) {
			t.Error("the host logged the full license key")
		}
		h.stop(t, 30*time.Second)
		d.stop(t, 30*time.Second)
	})
}

func TestTrayPackage(t *testing.T) {
	dir := packageDir(t)
	if os.Getenv("LICENSEHOST_PACKAGE_TRAY") == "0" {
		t.Skip("PACKAGE_TRAY=0: the tray package was not built")
	}
	need(t, "dpkg-deb", "desktop-file-validate", "objdump", "dpkg")
	deb := findDeb(t, dir, "licensehost-tray")
	checkControl(t, deb, "licensehost-tray")
	checkFiles(t, deb, map[string]string{
		"/usr/bin/licensehost-tray":                                     "-rwxr-xr-x",
		"/usr/share/applications/io.licensehost.tray.desktop":           "-rw-r--r--",
		"/etc/xdg/autostart/io.licensehost.tray.desktop":                "-rw-r--r--",
		"/usr/share/icons/hicolor/256x256/apps/io.licensehost.tray.png": "-rw-r--r--",
		"/usr/share/doc/licensehost-tray/tray.md":                       "-rw-r--r--",
	})
	root := extract(t, deb)
	meta := fyneMetadata(t)

	// The icon is FyneApp.toml's, named by its application ID.
	icon, err := os.ReadFile(filepath.Join(root, "usr/share/icons/hicolor/256x256/apps", meta["ID"]+".png"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(repoRoot, meta["Icon"]))
	if err != nil || !bytes.Equal(icon, src) {
		t.Errorf("packaged icon differs from FyneApp.toml's %s (%v)", meta["Icon"], err)
	}
	// Both entries are named after the application ID.
	var execs []string
	for _, p := range []string{"usr/share/applications/" + meta["ID"] + ".desktop", "etc/xdg/autostart/" + meta["ID"] + ".desktop"} {
		path := filepath.Join(root, p)
		if out, err := exec.Command("desktop-file-validate", path).CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("desktop-file-validate %s: %v\n%s", p, err, out)
		}
		e := desktopEntry(t, path)
		if e["Icon"] != meta["ID"] || !strings.HasPrefix(e["Name"], meta["Name"]) {
			t.Errorf("%s: Icon=%q Name=%q, want FyneApp.toml's ID %q and Name %q", p, e["Icon"], e["Name"], meta["ID"], meta["Name"])
		}
		execArgs := strings.Fields(e["Exec"])
		if _, err := os.Stat(filepath.Join(root, "usr/bin", execArgs[0])); err != nil {
			t.Errorf("%s: Exec=%s not in the package", p, e["Exec"])
		}
		execs = append(execs, execArgs[1:]...)
	}
	// The entries' flags are the tray's.
	help, err := exec.Command(filepath.Join(root, "usr/bin/licensehost-tray"), "--help").Output()
	if err != nil {
		t.Fatalf("licensehost-tray --help: %v", err)
	}
	for _, a := range execs {
		if strings.HasPrefix(a, "--") && !strings.Contains(string(help), a+" ") {
			t.Errorf("a desktop entry passes %s, which licensehost-tray --help does not list", a)
		}
	}

	// Every shared library the cgo binary links comes from a declared dependency.
	bin := filepath.Join(root, "usr/bin/licensehost-tray")
	deps := control(t, deb)["Depends"]
	for _, lib := range neededLibs(t, bin) {
		out, err := exec.Command("dpkg", "-S", "*/"+lib).CombinedOutput()
		if err != nil {
			t.Errorf("no installed package provides %s: %s", lib, out)
			continue
		}
		pkg, _, _ := strings.Cut(strings.TrimSpace(strings.Split(string(out), "\n")[0]), ":")
		if !slices.Contains(splitDeps(deps), pkg) {
			t.Errorf("%s links %s from package %s, not in Depends %q", filepath.Base(bin), lib, pkg, deps)
		}
	}
	out, err := exec.Command(bin, "--version").Output() // stdout: Fyne may log a locale complaint on stderr
	if err != nil {
		t.Fatalf("%s --version: %v", bin, err)
	}
	if got, want := strings.TrimSpace(string(out)), "licensehost-tray "+pkgVersion(t); got != want {
		t.Errorf("--version: %q, want %q", got, want)
	}
}

func splitDeps(s string) []string {
	var out []string
	for _, d := range strings.Split(s, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(d), " ")
		out = append(out, name)
	}
	return out
}

func neededLibs(t *testing.T, bin string) []string {
	t.Helper()
	var libs []string
	for _, line := range strings.Split(run(t, "objdump", "-p", bin), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "NEEDED" {
			libs = append(libs, f[1])
		}
	}
	if len(libs) == 0 {
		t.Fatalf("%s links no shared library: not the cgo build?", bin)
	}
	return libs
}

// fyneMetadata reads the [Details] of FyneApp.toml (flat key = "value").
func fyneMetadata(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "FyneApp.toml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[]")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok && section == "Details" {
			m[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	for _, k := range []string{"ID", "Name", "Icon"} {
		if m[k] == "" {
			t.Fatalf("FyneApp.toml: no Details.%s", k)
		}
	}
	return m
}

func desktopEntry(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			m[k] = v
		}
	}
	return m
}

// TestVersionScript checks packaging/version.sh on a scratch repository:
// each form of docs/install.md "Versions", and that dpkg orders them as
// history does.
func TestVersionScript(t *testing.T) {
	need(t, "git", "dpkg")
	repo := t.TempDir()
	script, err := os.ReadFile("version.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(repo, "packaging"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "packaging", "version.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid", "GIT_CONFIG_GLOBAL=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	n := 0
	commit := func() {
		t.Helper()
		n++
		if err := os.WriteFile(filepath.Join(repo, "f"), []byte(strconv.Itoa(n)), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "-A")
		git("commit", "-q", "-m", strconv.Itoa(n))
	}
	version := func() string {
		t.Helper()
		out, err := exec.Command(filepath.Join(repo, "packaging", "version.sh")).CombinedOutput()
		if err != nil {
			t.Fatalf("version.sh: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	// Not a git checkout yet.
	if got := version(); got != "0.0.0+nogit" {
		t.Errorf("outside git: %q, want 0.0.0+nogit", got)
	}
	git("init", "-q")
	commit()
	var seen []string
	check := func(want string) {
		t.Helper()
		if got := version(); got != want {
			t.Errorf("version.sh = %q, want %q", got, want)
		}
		seen = append(seen, want)
	}
	check("0.0.0+1.g" + git("rev-parse", "--short=7", "HEAD"))
	commit()
	check("0.0.0+2.g" + git("rev-parse", "--short=7", "HEAD"))
	git("tag", "v1.2.3")
	check("1.2.3")
	commit()
	commit()
	check("1.2.3+2.g" + git("rev-parse", "--short", "HEAD"))
	if err := os.WriteFile(filepath.Join(repo, "f"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("1.2.3+2.g" + git("rev-parse", "--short", "HEAD") + ".dirty")
	git("checkout", "-q", "--", "f")
	git("tag", "-a", "-m", "rc", "v1.3.0-rc1")
	check("1.3.0~rc1")
	commit()
	git("tag", "v1.3.0")
	check("1.3.0")
	for i := 1; i < len(seen); i++ {
		for _, rel := range []string{"-1", ""} {
			if err := exec.Command("dpkg", "--compare-versions", seen[i-1]+rel, "lt", seen[i]+rel).Run(); err != nil {
				t.Errorf("dpkg orders %s%s not before %s%s", seen[i-1], rel, seen[i], rel)
			}
		}
	}
}

// TestMakeInstall runs make install into a staging DESTDIR and checks what
// lands where, and that the rewritten units still verify.
func TestMakeInstall(t *testing.T) {
	packageDir(t)
	need(t, "make", "systemd-analyze")
	dest, bin := t.TempDir(), t.TempDir()
	cmd := exec.Command("make", "-C", repoRoot, "install", "DESTDIR="+dest, "PREFIX=/usr/local", "BIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	for p, mode := range map[string]os.FileMode{
		"usr/local/bin/licensehost":                        0o755,
		"usr/local/bin/licensed":                           0o755,
		"usr/local/lib/systemd/system/licensehost.service": 0o644,
		"usr/local/lib/systemd/system/licensed.service":    0o644,
		"usr/local/lib/sysusers.d/licensehost.conf":        0o644,
		"usr/local/lib/sysusers.d/licensed.conf":           0o644,
		"etc/default/licensehost":                          0o644,
		"etc/default/licensed":                             0o644,
		"etc/licensehost/policies/policies.json":           0o644,
	} {
		if got := fileMode(t, filepath.Join(dest, p)); got != mode {
			t.Errorf("%s: mode %04o, want %04o", p, got, mode)
		}
	}
	for _, name := range []string{"licensehost", "licensed"} {
		path := filepath.Join(dest, "usr/local/lib/systemd/system", name+".service")
		u := parseUnit(t, path)
		if got := u.one(t, "ExecStart"); got != "/usr/local/bin/"+name+" serve" {
			t.Errorf("%s: ExecStart=%s", name, got)
		}
		b, _ := os.ReadFile(path)
		mapped := filepath.Join(t.TempDir(), name+".service")
		if err := os.WriteFile(mapped, bytes.ReplaceAll(b, []byte("/usr/local/bin/"), []byte(filepath.Join(dest, "usr/local/bin")+"/")), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("systemd-analyze", "verify", "--man=no", mapped).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
		}
	}
	// A second install keeps the operator's settings.
	def := filepath.Join(dest, "etc/default/licensehost")
	if err := os.WriteFile(def, []byte("LICENSEHOST_LOG_LEVEL=debug\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("make", "-C", repoRoot, "install", "DESTDIR="+dest, "PREFIX=/usr/local", "BIN="+bin).CombinedOutput(); err != nil {
		t.Fatalf("make install again: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(def); string(b) != "LICENSEHOST_LOG_LEVEL=debug\n" {
		t.Errorf("make install overwrote /etc/default/licensehost: %q", b)
	}

	if os.Getenv("LICENSEHOST_PACKAGE_TRAY") == "0" {
		return
	}
	need(t, "desktop-file-validate")
	cmd = exec.Command("make", "-C", repoRoot, "install-tray", "DESTDIR="+dest, "PREFIX=/usr/local", "BIN="+bin)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1") // the tray is the cgo binary
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install-tray: %v\n%s", err, out)
	}
	for p, mode := range map[string]os.FileMode{
		"usr/local/bin/licensehost-tray":                                     0o755,
		"usr/local/share/applications/io.licensehost.tray.desktop":           0o644,
		"usr/local/share/icons/hicolor/256x256/apps/io.licensehost.tray.png": 0o644,
		"etc/xdg/autostart/io.licensehost.tray.desktop":                      0o644,
	} {
		path := filepath.Join(dest, p)
		if got := fileMode(t, path); got != mode {
			t.Errorf("%s: mode %04o, want %04o", p, got, mode)
		}
		if strings.HasSuffix(p, ".desktop") {
			if out, err := exec.Command("desktop-file-validate", path).CombinedOutput(); err != nil || len(out) > 0 {
				t.Errorf("desktop-file-validate %s: %v\n%s", p, err, out)
			}
		}
	}
}

// TestRPMPackages checks the .rpm files against the .deb files of the same
// build: name, version, files with modes and owners, config files, the same
// maintainer scripts, and the dependencies RPM distributions name
// differently. (They are not installed: this machine is Debian.)
func TestRPMPackages(t *testing.T) {
	dir := packageDir(t)
	need(t, "rpm", "dpkg-deb")
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "i386"}[runtime.GOARCH]
	if arch == "" {
		arch = runtime.GOARCH
	}
	names := map[string][]string{"licensehost": {"shadow-utils"}, "licensed": {"shadow-utils"}}
	if os.Getenv("LICENSEHOST_PACKAGE_TRAY") != "0" {
		names["licensehost-tray"] = []string{"libglvnd-glx", "libX11"}
	}
	for name, requires := range names {
		t.Run(name, func(t *testing.T) {
			m, err := filepath.Glob(filepath.Join(dir, name+"-[0-9]*."+arch+".rpm"))
			if err != nil || len(m) != 1 {
				t.Fatalf("want exactly one %s-*.%s.rpm in %s, got %v", name, arch, dir, m)
			}
			rpmFile, deb := m[0], findDeb(t, dir, name)
			q := func(args ...string) string {
				t.Helper()
				return run(t, "rpm", append([]string{"-qp", "--nosignature"}, append(args, rpmFile)...)...)
			}
			want := fmt.Sprintf("%s %s 1 %s", name, pkgVersion(t), arch)
			if got := strings.TrimSpace(q("--qf", "%{NAME} %{VERSION} %{RELEASE} %{ARCH}")); got != want {
				t.Errorf("rpm says %q, want %q", got, want)
			}
			// Files, modes and owners as in the .deb.
			debFiles := listing(t, deb)
			rpmFiles := map[string]entry{}
			for _, line := range strings.Split(strings.TrimSpace(q("-lv")), "\n") {
				f := strings.Fields(line)
				if len(f) < 9 {
					t.Fatalf("rpm -qplv: odd line %q", line)
				}
				rpmFiles[f[len(f)-1]] = entry{mode: f[0], owner: f[2] + "/" + f[3]}
			}
			// (The .deb also lists the system directories it unpacks into.)
			for p, e := range debFiles {
				if got, ok := rpmFiles[p]; !ok && !strings.HasPrefix(e.mode, "d") {
					t.Errorf("%s: in the .deb, not in the .rpm", p)
				} else if ok && got != e {
					t.Errorf("%s: .rpm %v, .deb %v", p, got, e)
				}
			}
			for p := range rpmFiles {
				if _, ok := debFiles[p]; !ok {
					t.Errorf("%s: in the .rpm, not in the .deb", p)
				}
			}
			// Config files as the .deb's conffiles.
			var debConf []string
			if list := controlFileIfAny(t, deb, "conffiles"); list != "" {
				debConf = strings.Fields(list)
			}
			rpmConf := strings.Fields(q("--configfiles"))
			slices.Sort(debConf)
			slices.Sort(rpmConf)
			if !slices.Equal(debConf, rpmConf) {
				t.Errorf("config files: .rpm %q, .deb %q", rpmConf, debConf)
			}
			// The same scripts, which handle both call conventions.
			scripts := q("--scripts")
			for _, s := range []string{"postinst", "prerm", "postrm"} {
				if body := controlFileIfAny(t, deb, s); body != "" && !strings.Contains(scripts, strings.TrimSpace(body)) {
					t.Errorf("the .rpm's scriptlets lack the .deb's %s", s)
				}
			}
			reqs := strings.Fields(q("--requires"))
			for _, r := range requires {
				if !slices.Contains(reqs, r) {
					t.Errorf("Requires %q lacks %s", reqs, r)
				}
			}
		})
	}
}

// controlFileIfAny is controlFile, "" when the .deb has no such file.
func controlFileIfAny(t *testing.T, deb, name string) string {
	t.Helper()
	dir := t.TempDir()
	run(t, "dpkg-deb", "-e", deb, dir)
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	return string(b)
}
