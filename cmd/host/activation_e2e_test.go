package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crypto/ed25519"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/licserver"
)

// The air-gapped story of docs/activation-files.md with the real binaries
// and files only: licensed runs no server (its CLI works on its data
// directory) and the hosts point at an address where nothing listens.

const (
	machineA = "server_aaaaaaaaaaaaaaaa"
	machineB = "server_bbbbbbbbbbbbbbbb"
	noServer = "http://127.0.0.1:9" // discard port: nothing answers
)

// vendor is a licensed data directory used through its CLI.
type vendor struct {
	t   *testing.T
	dir string
}

// run runs licensed; it returns stdout, stderr and the exit code.
func (v *vendor) run(args ...string) (string, string, int) {
	v.t.Helper()
	cmd := exec.Command(licensedBin, append(args, "--data-dir", v.dir)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return stdout.String(), stderr.String(), ee.ExitCode()
	case err != nil:
		v.t.Fatal(err)
	}
	return stdout.String(), stderr.String(), 0
}

func (v *vendor) must(args ...string) string {
	v.t.Helper()
	out, errOut, code := v.run(args...)
	if code != 0 {
		v.t.Fatalf("licensed %v: exit %d\n%s%s", args, code, out, errOut)
	}
	return strings.TrimSpace(out)
}

// keys returns licensed's signing keys (kid → base64 public key) and the
// current kid.
func (v *vendor) keys() (map[string]string, string) {
	v.t.Helper()
	var ks []licserver.KeyInfo
	if err := json.Unmarshal([]byte(v.must("signing-key", "list", "--json")), &ks); err != nil {
		v.t.Fatal(err)
	}
	m, cur := map[string]string{}, ""
	for _, k := range ks {
		m[k.Kid] = k.PublicKey
		if k.Current {
			cur = k.Kid
		}
	}
	return m, cur
}

// issue turns a request file into an activation file; it returns the
// file's path, or "" and the exit code and stderr on refusal.
func (v *vendor) issue(req, key string) (string, int, string) {
	v.t.Helper()
	out := filepath.Join(filepath.Dir(req), "activation-"+filepath.Base(req))
	_, errOut, code := v.run("activation", "issue", "--request", req, "--key", key, "-o", out)
	if code != 0 {
		return "", code, errOut
	}
	return out, 0, ""
}

// cli runs a licensehost client command against h.
func (h *host) cli(args ...string) (string, int) {
	h.t.Helper()
	cmd := exec.Command(hostBin, append(args, "--host", h.url, "--token-file", filepath.Join(h.dataDir, api.TokenFileName))...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return string(out), 0
}

func (h *host) request(key string) string {
	h.t.Helper()
	p := filepath.Join(h.t.TempDir(), "request.txt")
	if out, code := h.cli("activation", "request", "--key", key, "-o", p); code != 0 {
		h.t.Fatalf("request: %d %s", code, out)
	}
	return p
}

func (h *host) activations() *api.Activations {
	h.t.Helper()
	l, err := h.client.Activations(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return l
}

func (h *host) enabled(name string) (bool, string) {
	h.t.Helper()
	r, err := h.client.CheckFeature(context.Background(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	return r.Allowed, r.Reason
}

func airProduct(t *testing.T, keys map[string]string) string {
	t.Helper()
	type vk struct {
		Kid     string `json:"kid"`
		Ed25519 string `json:"ed25519"`
	}
	var vks []vk
	for k, p := range keys {
		vks = append(vks, vk{k, p})
	}
	b, _ := json.Marshal(map[string]any{"version": 1, "product": "Air-gapped",
		"features":   []map[string]string{{"name": "data.source", "title": "数据源"}, {"name": "data.cdc", "title": "CDC"}, {"name": "data.mq", "title": "MQ"}},
		"vendorKeys": vks})
	p := filepath.Join(t.TempDir(), "product.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAirGappedStory(t *testing.T) {
	v := &vendor{t: t, dir: t.TempDir()}
	v.must("init", "--app-name", "ACME")
	v.must("type", "add", "pro", "--kind", "formal", "--features", "data.source,data.cdc", "--uninstallable", "--migratable",
		"--max-devices", "1", "--field1", "500", "--field2", "100")
	v.must("type", "add", "trial", "--kind", "temporary", "--features", "data.mq", "--validity", "12s")
	formalKey := v.must("key", "issue", "--type", "pro")
	keys0, kid0 := v.keys()
	prod := airProduct(t, keys0)

	// Machine A: request → issue (formal and temporary) → install.
	a := startHost(t, t.TempDir(), "--license-server", noServer, "--machine-id", machineA, "--product", prod)
	if ok, _ := a.enabled("data.cdc"); ok {
		t.Fatal("data.cdc on before any file")
	}
	reqA := a.request(formalKey)
	fileF, code, msg := v.issue(reqA, formalKey)
	if code != 0 {
		t.Fatalf("issue formal: %d %s", code, msg)
	}
	trialStart := time.Now()
	trialKey := v.must("key", "issue", "--type", "trial") // expires 12 s after licensed issues it, truncated to the second
	fileT, code, msg := v.issue(a.request(trialKey), trialKey)
	if code != 0 {
		t.Fatalf("issue temporary: %d %s", code, msg)
	}
	for _, f := range []string{fileF, fileT} {
		if out, code := a.cli("activation", "install", f); code != 0 || !strings.HasPrefix(out, "installed: AF-") {
			t.Fatalf("install %s: %d %s", f, code, out)
		}
	}
	if out, code := a.cli("activation", "install", fileF); code != 0 || !strings.HasPrefix(out, "already installed") {
		t.Fatalf("idempotent install: %d %s", code, out)
	}
	for _, f := range []string{"data.source", "data.cdc", "data.mq"} {
		if ok, reason := a.enabled(f); !ok {
			t.Fatalf("%s off after install: %s", f, reason)
		}
	}
	if st := a.status(); st.Limits.Total == nil || *st.Limits.Total != 500 || *st.Limits.Batch != 100 {
		t.Fatalf("limits from the formal file: %+v", st.Limits)
	}
	list := a.activations()
	if len(list.Activations) != 2 || list.MachineID != machineA {
		t.Fatalf("list: %+v", list)
	}
	// machine-id --explain shows the installation key the files are bound to.
	out, code := runHost(t, "machine-id", "--explain", "--json", "--machine-id", machineA, "--data-dir", a.dataDir)
	var explained struct {
		Code            string `json:"code"`
		InstallationKey struct {
			PublicKey string `json:"publicKey"`
		} `json:"installationKey"`
	}
	if err := json.Unmarshal([]byte(out), &explained); code != 0 || err != nil || explained.Code != machineA ||
		explained.InstallationKey.PublicKey != list.InstallationKey || list.InstallationKey == "" {
		t.Fatalf("machine-id --explain --json: %d %v %s", code, err, out)
	}
	if text, _ := runHost(t, "machine-id", "--explain", "--data-dir", a.dataDir); !strings.Contains(text, "installation key: "+list.InstallationKey) {
		t.Fatalf("machine-id --explain: %s", text)
	}
	serialF, serialT := "", ""
	for _, x := range list.Activations {
		if x.Kind == "formal" {
			serialF = x.Serial
		} else {
			serialT = x.Serial
		}
		if x.Kid != kid0 || x.State != "in_force" {
			t.Fatalf("installed %+v", x)
		}
	}

	// Every refusal: one plain line, its own exit code, nothing stored.
	good, _ := os.ReadFile(fileF)
	env, err := actfile.Decode(good, actfile.TypeActivation)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(good), "\n")
	vendorPriv, err := licserver.DataDir(v.dir).LoadPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, rogue, _ := ed25519.GenerateKey(nil)
	sa, _ := actfile.ParseActivation(good)
	future := sa.Activation
	future.Serial, future.IssuedAt = "AF-FUTURE-0001", time.Now().Add(2*time.Hour)
	futureFile, err := actfile.SignActivation(future, kid0, vendorPriv)
	if err != nil {
		t.Fatal(err)
	}
	untrusted, _ := actfile.SignActivation(sa.Activation, "rogue", rogue)
	reqB0 := startHost(t, t.TempDir(), "--license-server", noServer, "--machine-id", machineB, "--product", prod)
	otherKey := v.must("key", "issue", "--type", "pro")
	fileForB, code, msg := v.issue(reqB0.request(otherKey), otherKey)
	if code != 0 {
		t.Fatalf("issue for B: %s", msg)
	}
	reqB0.stop()
	cases := []struct {
		name string
		file []byte
		path string
		exit int
		msg  string
	}{
		{"too large", bytes.Repeat([]byte("A"), actfile.MaxFileSize+1), "", 2, "file is too large"},
		{"not armored", []byte("hello, this is not a file"), "", 2, "not an armored licensehost file"},
		{"bad base64", []byte(strings.Replace(string(good), lines[4], "!!!!"+lines[4][4:], 1)), "", 2, "not valid base64"},
		{"bad JSON", actfile.Encode(actfile.Envelope{Type: actfile.TypeActivation, Kid: kid0, Signature: make([]byte, 64), Payload: []byte("{not json")}), "", 2, "not valid JSON"},
		{"unknown version", actfile.Encode(actfile.Envelope{Type: actfile.TypeActivation, Kid: kid0, Signature: make([]byte, 64),
			Payload: []byte(`{"format":"licensehost-activation","version":2}`)}), "", 2, "unknown file format version"},
		{"damaged", actfile.Encode(actfile.Envelope{Type: actfile.TypeActivation, Kid: kid0, Signature: env.Signature,
			Payload: bytes.Replace(env.Payload, []byte(`"500"`), []byte(`"900"`), 1)}), "", 2, "signature does not verify"},
		{"untrusted key", untrusted, "", 1, "not signed by a trusted vendor key"},
		{"wrong machine", nil, fileForB, 1, "for another machine"},
		{"issued in the future", futureFile, "", 1, "issued in the future"},
	}
	for _, c := range cases {
		p := c.path
		if p == "" {
			p = writeFile(t, "bad.txt", c.file)
		}
		out, code := a.cli("activation", "install", p)
		if code != c.exit || !strings.Contains(out, c.msg) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Errorf("%s: exit %d %q, want exit %d with %q", c.name, code, out, c.exit, c.msg)
		}
	}
	if n := len(a.activations().Activations); n != 2 {
		t.Fatalf("a refusal stored something: %d files", n)
	}

	// The temporary license expires on time; it cannot be uninstalled,
	// reinstalled, only deleted.
	for ok, _ := a.enabled("data.mq"); ok; ok, _ = a.enabled("data.mq") {
		if time.Since(trialStart) > 60*time.Second {
			t.Fatal("data.mq still on a minute after its 12 s license")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if d := time.Since(trialStart); d < 11*time.Second {
		t.Fatalf("data.mq went off after %s, before its expiry", d)
	}
	if _, reason := a.enabled("data.mq"); reason != "expired" {
		t.Fatalf("data.mq reason %q", reason)
	}
	if out, code := a.cli("activation", "uninstall", serialT); code != 1 || !strings.Contains(out, "expired") {
		t.Fatalf("uninstall expired: %d %s", code, out)
	}
	if out, code := a.cli("activation", "install", fileT); code != 1 || !strings.Contains(out, "has expired") {
		t.Fatalf("install expired: %d %s", code, out)
	}
	if out, code := a.cli("activation", "delete", serialF); code != 1 || !strings.Contains(out, "in force") {
		t.Fatalf("delete in force: %d %s", code, out)
	}
	if out, code := a.cli("activation", "delete", serialT); code != 0 {
		t.Fatalf("delete expired: %d %s", code, out)
	}

	// A second machine cannot get the 1-device key while A holds it.
	b := startHost(t, t.TempDir(), "--license-server", noServer, "--machine-id", machineB, "--product", prod)
	reqB := b.request(formalKey)
	if _, code, msg := v.issue(reqB, formalKey); code == 0 || !strings.Contains(msg, "device_limit_reached") {
		t.Fatalf("issue for B while A holds the key: %d %s", code, msg)
	}

	// Uninstall the formal license → receipt → release on licensed.
	receipt := filepath.Join(t.TempDir(), "receipt.txt")
	if out, code := a.cli("activation", "uninstall", serialF, "-o", receipt); code != 0 {
		t.Fatalf("uninstall: %d %s", code, out)
	}
	if ok, _ := a.enabled("data.cdc"); ok {
		t.Fatal("data.cdc on after uninstall")
	}
	if out, code := a.cli("activation", "install", fileF); code != 1 || !strings.Contains(out, "uninstalled here") {
		t.Fatalf("reinstall uninstalled: %d %s", code, out)
	}
	if n := len(a.activations().Activations); n != 0 {
		t.Fatalf("%d files left on A", n)
	}
	if out := v.must("activation", "release", "--receipt", receipt); !strings.Contains(out, serialF) {
		t.Fatalf("release: %s", out)
	}

	// Issue for the second machine → install there.
	fileB, code, msg := v.issue(reqB, formalKey)
	if code != 0 {
		t.Fatalf("issue for B after release: %s", msg)
	}
	if out, code := b.cli("activation", "install", fileB); code != 0 {
		t.Fatalf("install on B: %d %s", code, out)
	}
	if ok, _ := b.enabled("data.cdc"); !ok {
		t.Fatal("data.cdc off on B")
	}

	// Key rotation: a file from the new kid is refused until the host
	// trusts it; the old file stays valid while its kid is trusted, and
	// stops counting (listed as untrusted) when the kid is dropped.
	v.must("signing-key", "rotate", "--kid", "2026-b")
	keys1, kid1 := v.keys()
	if kid1 != "2026-b" || len(keys1) != 2 {
		t.Fatalf("after rotation: %v %q", keys1, kid1)
	}
	trial2 := v.must("key", "issue", "--type", "trial", "--expires", "1h")
	fileNew, code, msg := v.issue(b.request(trial2), trial2)
	if code != 0 {
		t.Fatalf("issue under the new kid: %s", msg)
	}
	if out, code := b.cli("activation", "install", fileNew); code != 1 || !strings.Contains(out, "not signed by a trusted vendor key") {
		t.Fatalf("new kid before trusted: %d %s", code, out)
	}
	bDir := b.dataDir
	b.stop()
	b = startHost(t, bDir, "--license-server", noServer, "--machine-id", machineB, "--product", prod, "--vendor-key", "2026-b="+keys1["2026-b"])
	if out, code := b.cli("activation", "install", fileNew); code != 0 {
		t.Fatalf("new kid trusted: %d %s", code, out)
	}
	for _, f := range []string{"data.cdc", "data.mq"} {
		if ok, reason := b.enabled(f); !ok {
			t.Fatalf("%s off on B with both kids trusted: %s", f, reason)
		}
	}
	b.stop()
	b = startHost(t, bDir, "--license-server", noServer, "--machine-id", machineB, "--vendor-key", "2026-b="+keys1["2026-b"],
		"--product", airProduct(t, map[string]string{"2026-b": keys1["2026-b"]}))
	if ok, _ := b.enabled("data.cdc"); ok {
		t.Fatal("a file under a dropped kid still grants")
	}
	states := map[string]string{}
	for _, x := range b.activations().Activations {
		states[x.Kid] = x.State
	}
	if states[kid0] != "untrusted" || states["2026-b"] != "in_force" {
		t.Fatalf("states after dropping %s: %v", kid0, states)
	}
	// Asking licensed again re-signs B's formal file under the new kid:
	// same serial, installed over the old one, in force again.
	resigned, code, msg := v.issue(b.request(formalKey), formalKey)
	if code != 0 {
		t.Fatalf("re-issue under the new kid: %s", msg)
	}
	if out, code := b.cli("activation", "install", resigned); code != 0 || !strings.HasPrefix(out, "installed: ") {
		t.Fatalf("install the re-signed file: %d %s", code, out)
	}
	if ok, reason := b.enabled("data.cdc"); !ok {
		t.Fatalf("data.cdc off after the re-signed file: %s", reason)
	}
	if l := b.activations(); len(l.Activations) != 2 {
		t.Fatalf("the re-signed file did not replace the old one: %d files", len(l.Activations))
	}
	b.stop()
	b = startHost(t, bDir, "--license-server", noServer, "--machine-id", machineB, "--product", prod, "--vendor-key", "2026-b="+keys1["2026-b"])

	// Backup while running; restore on the same machine and on another.
	keyB := b.activations().InstallationKey
	backupFile := filepath.Join(t.TempDir(), "backup.tgz")
	if out, code := b.cli("backup", backupFile); code != 0 || !strings.Contains(out, "verified") {
		t.Fatalf("backup: %d %s", code, out)
	}
	b.stop()
	same := filepath.Join(t.TempDir(), "same")
	if out, code := runHost(t, "restore", backupFile, "--data-dir", same, "--machine-id", machineB); code != 0 || strings.Contains(out, "note:") {
		t.Fatalf("restore: %d %s", code, out)
	}
	if out, code := runHost(t, "restore", backupFile, "--data-dir", same); code != 2 || !strings.Contains(out, "not empty") {
		t.Fatalf("restore over data: %d %s", code, out)
	}
	r := startHost(t, same, "--license-server", noServer, "--machine-id", machineB, "--product", prod, "--vendor-key", "2026-b="+keys1["2026-b"])
	if l := r.activations(); len(l.Activations) != 2 || l.InstallationKey != keyB {
		t.Fatalf("restored on the same machine: %+v", l)
	}
	for _, f := range []string{"data.cdc", "data.mq"} {
		if ok, reason := r.enabled(f); !ok {
			t.Fatalf("%s off after restore: %s", f, reason)
		}
	}
	r.stop()
	other := filepath.Join(t.TempDir(), "other")
	cmd := exec.Command(hostBin, "restore", backupFile, "--data-dir", other)
	cmd.Env = append(os.Environ(), "LICENSEHOST_MACHINE_ID=server_cccccccccccccccc") // the environment works too
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "machine_changed") {
		t.Fatalf("restore elsewhere: %v %s", err, out)
	}
	o := startHost(t, other, "--license-server", noServer, "--machine-id", "server_cccccccccccccccc", "--product", prod, "--vendor-key", "2026-b="+keys1["2026-b"])
	for _, x := range o.activations().Activations {
		if x.State != "wrong_machine" {
			t.Fatalf("restored elsewhere: %s is %s", x.Serial, x.State)
		}
	}
	if ok, _ := o.enabled("data.cdc"); ok {
		t.Fatal("a restore on another machine grants features")
	}
}

// A backup of an online-licensed host: restored on the same machine the
// license stands; restored on another machine code it is machine_changed,
// exactly like a copied data directory.
func TestBackupRestoreMachineChanged(t *testing.T) {
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), append(fast(srv, "7", "15"), "--machine-id", machineA)...)
	h.mustActivate(e2eKey)
	if _, err := h.client.QuotaConsume(context.Background(), api.QuotaConsumeRequest{Batch: 3, IdempotencyKey: "order-1"}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "backup.tgz")
	if out, code := h.cli("backup", file); code != 0 {
		t.Fatalf("backup: %d %s", code, out)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file mode: %v %v", fi, err)
	}
	h.stop()

	same := filepath.Join(t.TempDir(), "same")
	if out, code := runHost(t, "restore", file, "--data-dir", same, "--machine-id", machineA); code != 0 {
		t.Fatalf("restore: %d %s", code, out)
	}
	r := startHost(t, same, append(fast(srv, "7", "15"), "--machine-id", machineA)...)
	if st := r.status(); st.Status != "active" || st.Usage.Total != 3 {
		t.Fatalf("restored on the same machine: %s %q used %d", st.Status, st.Reason, st.Usage.Total)
	}
	r.stop()

	other := filepath.Join(t.TempDir(), "other")
	if out, code := runHost(t, "restore", file, "--data-dir", other, "--machine-id", "server_cccccccccccccccc"); code != 0 || !strings.Contains(out, "machine_changed") {
		t.Fatalf("restore elsewhere: %d %s", code, out)
	}
	o := startHost(t, other, append(fast(srv, "7", "15"), "--machine-id", "server_cccccccccccccccc")...)
	if st := o.status(); st.Status != "expired" || st.Reason != "machine_changed" || st.IsSponsored {
		t.Fatalf("restored on another machine: %s %q sponsored %v", st.Status, st.Reason, st.IsSponsored)
	}
}
