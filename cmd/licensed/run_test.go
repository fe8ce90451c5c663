package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensehost/licensehost/internal/licapi"
	"github.com/licensehost/licensehost/internal/lickey"
	"github.com/licensehost/licensehost/internal/licserver"
	"github.com/licensehost/licensehost/internal/signing"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// signedVerify posts req to the verify route of the server at base as a
// licensehost does (with a fresh nonce of a verifier pinned to pub) and
// returns the answer, its body, and whether its signature verifies.
func signedVerify(t *testing.T, base string, pub ed25519.PublicKey, req licapi.VerifyRequest) (*http.Response, []byte, error) {
	t.Helper()
	v, err := signing.NewVerifier(signing.VerifierConfig{PublicKeys: []ed25519.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := v.NewNonce()
	body, _ := json.Marshal(req)
	hr, _ := http.NewRequest(http.MethodPost, base+licapi.PathVerify, bytes.NewReader(body))
	hr.Header.Set(signing.HeaderNonce, n)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, rb, v.Verify(licapi.PathVerify, req.MachineID, n, resp.Header, rb)
}

// served is `licensed serve` running in this test on a data directory.
type served struct {
	base   string // the server's base URL
	stderr *bytes.Buffer
	cancel context.CancelFunc
	done   chan int
	once   sync.Once
	code   int
}

// startServe runs `licensed serve` on dir (initialized) on a free loopback
// port and waits for the address file it writes; the server stops when the
// test ends, or at stop.
func startServe(t *testing.T, dir string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{stderr: &bytes.Buffer{}, cancel: cancel, done: make(chan int)}
	go func() {
		s.done <- Run(ctx, []string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0"}, &bytes.Buffer{}, s.stderr)
	}()
	t.Cleanup(func() { s.stop() })
	for range 500 {
		if b, err := os.ReadFile(licserver.DataDir(dir).Addr()); err == nil {
			s.base = strings.TrimSpace(string(b))
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.stop()
	t.Fatalf("server did not start: %s", s.stderr.String())
	return nil
}

// stop ends the server and returns its exit status.
func (s *served) stop() int {
	s.once.Do(func() {
		s.cancel()
		s.code = <-s.done
	})
	return s.code
}

func TestBadCommandLines(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"nope"},
		{"key"},
		{"key", "frob"},
		{"serve", "--bogus"},
		{"serve", "--listen", "no-port", "--data-dir", dir},
		{"serve", "--log-level", "loud", "--data-dir", dir},
		{"key", "issue", "--data-dir", dir},
		{"key", "issue", "--type", "t", "--max-devices", "x", "--data-dir", dir},
		{"key", "issue", "--type", "t", "--expires", "someday", "--data-dir", dir},
		{"key", "show", "--data-dir", dir},
		{"key", "list", "--status", "weird", "--data-dir", dir},
		{"type", "add", "--data-dir", dir},
		{"type", "add", "x", "--validity", "forever", "--data-dir", dir},
		{"audit", "--limit", "0", "--data-dir", dir},
		{"init", "extra", "--data-dir", dir},
		{"key", "issue", "--type", "t", "--max-devices", "-1", "--data-dir", dir},
		{"key", "unbind", "K", "--data-dir", dir},
		{"type", "add", "x", "--max-uses", "-2", "--data-dir", dir},
		{"serve", "--churn-every", "0", "--data-dir", dir},
		{"serve", "--request-burst", "-1", "--data-dir", dir},
		{"init", "--data-dir", ""},
		{"completion", "nosh"},
	} {
		code, out, errs := runCLI(t, args...)
		lines := strings.Count(strings.TrimSpace(errs), "\n") + 1
		if code != 2 || out != "" || lines != 1 || !strings.HasPrefix(errs, "licensed: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and one line", args, code, out, errs)
		}
	}
	if code, out, _ := runCLI(t, "help"); code != 0 || !strings.Contains(out, "key issue") {
		t.Errorf("help: %d %q", code, out)
	}
	if code, out, _ := runCLI(t, "completion", "bash"); code != 0 || !strings.Contains(out, "__start_licensed") {
		t.Errorf("completion bash: %d %.200q", code, out)
	}
	if code, out, _ := runCLI(t, "version"); code != 0 || out != "licensed dev\n" {
		t.Errorf("version: %d %q", code, out)
	}
	// Not initialized: a runtime error, exit 1.
	if code, _, errs := runCLI(t, "key", "list", "--data-dir", dir); code != 1 || !strings.Contains(errs, "licensed init") {
		t.Errorf("uninitialized: %d %q", code, errs)
	}
}

func TestInitAndOfflineAdmin(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	code, out, errs := runCLI(t, "init", "--data-dir", dir, "--app-name", "演示")
	if code != 0 {
		t.Fatalf("init: %d %s", code, errs)
	}
	for _, f := range []string{"signing.key", "admin.token"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi.Mode(), err)
		}
	}
	_, pubOut, _ := runCLI(t, "pubkey", "--data-dir", dir)
	if _, err := signing.ParsePublicKey(pubOut); err != nil || !strings.Contains(out, strings.TrimSpace(pubOut)) {
		t.Fatalf("pubkey %q (init printed %q): %v", pubOut, out, err)
	}
	if code, _, errs := runCLI(t, "init", "--data-dir", dir); code != 1 || !strings.Contains(errs, "already initialized") {
		t.Fatalf("second init: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "type", "add", "pro", "--display", "专业版", "--field1", "500", "--max-devices", "2", "--data-dir", dir); code != 0 {
		t.Fatalf("type add: %s", errs)
	}
	code, out, errs = runCLI(t, "key", "issue", "--type", "pro", "--expires", "2030-01-01", "--note", "ACME", "--data-dir", dir)
	key := strings.TrimSpace(out)
	if code != 0 || !lickey.ValidKeyChecksum(key) || strings.Contains(errs, key) {
		t.Fatalf("key issue: %d %q %q", code, out, errs)
	}
	code, out, _ = runCLI(t, "key", "list", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, key) || !strings.Contains(out, "ACME") {
		t.Fatalf("key list: %q", out)
	}
	code, out, _ = runCLI(t, "key", "show", key, "--json", "--data-dir", dir)
	var l map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil || l["customField1"] != "500" || l["maxDevices"] != 2.0 ||
		l["expiresAt"] != "2030-01-01T00:00:00Z" {
		t.Fatalf("key show: %q", out)
	}
	if code, out, _ = runCLI(t, "key", "revoke", key, "--data-dir", dir); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %q", out)
	}
	if code, _, errs = runCLI(t, "key", "resume", key, "--data-dir", dir); code != 1 || !strings.Contains(errs, "final") {
		t.Fatalf("resume revoked: %d %q", code, errs)
	}
	if code, out, _ = runCLI(t, "audit", "--data-dir", dir, "--key", key); code != 0 || !strings.Contains(out, "key.revoke") {
		t.Fatalf("audit: %q", out)
	}
}

// While the server holds the data directory, admin commands go through its
// admin API; the contract answers are signed with the init key.
func TestServeAndAdminThroughAPI(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, "init", "--data-dir", dir); code != 0 {
		t.Fatal(errs)
	}
	srv := startServe(t, dir)
	base := srv.base
	if code, _, errs := runCLI(t, "type", "add", "demo", "--data-dir", dir); code != 0 {
		t.Fatalf("type add via API: %s", errs)
	}
	_, out, errs := runCLI(t, "key", "issue", "--type", "demo", "--data-dir", dir)
	key := strings.TrimSpace(out)
	if !lickey.ValidKeyChecksum(key) {
		t.Fatalf("key issue via API: %q %q", out, errs)
	}

	_, pubOut, _ := runCLI(t, "pubkey", "--data-dir", dir)
	pub, _ := signing.ParsePublicKey(pubOut)
	resp, body, sigErr := signedVerify(t, base, pub, licapi.VerifyRequest{LicenseKey: key, MachineID: "server_0123456789abcdef", DeviceInfo: "sponsor-activation:server_0123456789abcdef"})
	if resp.StatusCode != 200 {
		t.Fatalf("verify: %d %s", resp.StatusCode, body)
	}
	if sigErr != nil {
		t.Fatalf("signature: %v", sigErr)
	}

	if code := srv.stop(); code != 0 {
		t.Fatalf("serve exit %d: %s", code, srv.stderr.String())
	}
	if _, err := os.Stat(licserver.DataDir(dir).Addr()); !os.IsNotExist(err) {
		t.Fatalf("addr file left behind: %v", err)
	}
	// Full keys never reach the server's log.
	if strings.Contains(srv.stderr.String(), key) {
		t.Fatalf("server log holds a full key:\n%s", srv.stderr.String())
	}
	// Offline again: the CLI opens the store directly and sees the binding.
	_, out, _ = runCLI(t, "key", "show", key, "--data-dir", dir)
	if !strings.Contains(out, "server_0123456789abcdef") {
		t.Fatalf("key show after serve: %q", out)
	}
}
