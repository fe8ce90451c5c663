package main

import (
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/licapi"
	"github.com/licensehost/licensehost/internal/licserver"
	"github.com/licensehost/licensehost/internal/signing"
)

func requestFile(t *testing.T, machine string) string {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(nil)
	b, err := actfile.SignRequest(actfile.Request{MachineID: machine, InstallationKey: actfile.EncodeKey(pub),
		CreatedAt: time.Now(), Nonce: "n"}, priv)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "request.txt")
	os.WriteFile(p, b, 0o644)
	return p
}

// Bad activation command lines and files: one line, exit 2.
func TestActivationCommandLines(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, "init", "--data-dir", dir); code != 0 {
		t.Fatal(errs)
	}
	garbage := filepath.Join(t.TempDir(), "garbage.txt")
	os.WriteFile(garbage, []byte("not a request"), 0o644)
	for _, args := range [][]string{
		{"activation"},
		{"activation", "issue"},
		{"activation", "issue", "--request", garbage, "--key", "LH-X"},
		{"activation", "issue", "--request", filepath.Join(dir, "missing.txt")},
		{"activation", "release"},
		{"activation", "release", "--receipt", garbage},
		{"signing-key", "rotate", "--kid", "bad kid"},
		{"signing-key"},
		{"type", "add", "x", "--kind", "weird"},
		{"type", "add", "x", "--features", "Bad Name"},
	} {
		code, out, errs := runCLI(t, append(args, "--data-dir", dir)...)
		lines := strings.Count(strings.TrimSpace(errs), "\n") + 1
		if code != 2 || out != "" || lines != 1 || !strings.HasPrefix(errs, "licensed: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and one line", args, code, out, errs)
		}
	}
}

// With the server running, issuing and rotating go through its admin API:
// the rotated key signs the server's next answers (their header names the
// kid) and the next files.
func TestActivationAndRotationThroughAPI(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, "init", "--data-dir", dir); code != 0 {
		t.Fatal(errs)
	}
	base := startServe(t, dir).base
	cli := func(args ...string) string {
		t.Helper()
		code, out, errs := runCLI(t, append(args, "--data-dir", dir)...)
		if code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, errs)
		}
		return out
	}
	cli("type", "add", "pro", "--kind", "formal", "--features", "data.cdc", "--uninstallable", "--migratable", "--max-devices", "2")
	key := strings.TrimSpace(cli("key", "issue", "--type", "pro"))
	out1 := filepath.Join(t.TempDir(), "a1.txt")
	cli("activation", "issue", "--request", requestFile(t, "server_1111111111111111"), "--key", key, "-o", out1)
	b1, _ := os.ReadFile(out1)
	f1, err := actfile.ParseActivation(b1)
	if err != nil {
		t.Fatal(err)
	}
	rot := cli("signing-key", "rotate", "--kid", "k2")
	if !strings.Contains(rot, "k2") {
		t.Fatalf("rotate: %s", rot)
	}
	f2Out := cli("activation", "issue", "--request", requestFile(t, "server_2222222222222222"), "--key", key, "--json")
	var f2 licserver.IssuedFile
	if err := json.Unmarshal([]byte(f2Out), &f2); err != nil || f2.Kid != "k2" || f1.Kid == "k2" {
		t.Fatalf("kids: first %q, after rotation %q (%v)", f1.Kid, f2.Kid, err)
	}
	var ks []licserver.KeyInfo
	json.Unmarshal([]byte(cli("signing-key", "list", "--json")), &ks)
	trust := actfile.TrustSet{}
	for _, k := range ks {
		p, _ := signing.ParsePublicKey(k.PublicKey)
		trust.Add(k.Kid, p)
	}
	if len(ks) != 2 || f1.Verify(trust) != nil {
		t.Fatalf("keys %+v", ks)
	}
	// The running server's answers are signed by the new key now.
	pub, _ := signing.ParsePublicKey(cli("pubkey"))
	if !pub.Equal(trust["k2"]) {
		t.Fatal("pubkey does not print the current key")
	}
	resp, _, sigErr := signedVerify(t, base, pub, licapi.VerifyRequest{LicenseKey: key, MachineID: "server_1111111111111111", DeviceInfo: "heartbeat:server_1111111111111111"})
	if h := resp.Header.Get(signing.HeaderSignature); !strings.HasSuffix(h, ";kid=k2") {
		t.Fatalf("header %q", h)
	}
	if sigErr != nil {
		t.Fatalf("answer after rotation: %v", sigErr)
	}
	var list []map[string]any
	json.Unmarshal([]byte(cli("activation", "list", "--key", key, "--json")), &list)
	if len(list) != 2 {
		t.Fatalf("activation list: %d", len(list))
	}
}
