package actfile

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fence returns the first fenced code block of the given language in
// docs/activation-files.md.
func fence(t *testing.T, lang string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/activation-files.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "\n```"+lang+"\n")
	if !ok {
		t.Fatalf("no %s block in docs/activation-files.md", lang)
	}
	body, _, ok := strings.Cut(rest, "\n```\n")
	if !ok {
		t.Fatalf("unterminated %s block", lang)
	}
	return body + "\n"
}

// The worked example in the docs is a real file that verifies under the
// documented key.
func TestDocExample(t *testing.T) {
	vpub, vpriv := key(9)
	ex := fence(t, "text")
	if ex != string(sampleActivation(t, "2026-a", vpriv)) {
		t.Fatal("the docs' example is not what the test key issues; regenerate it")
	}
	a, err := ParseActivation([]byte(ex))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(TrustSet{"2026-a": vpub}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readDoc(t)), EncodeKey(vpub)) {
		t.Fatal("the docs do not show the example's public key")
	}
}

func readDoc(t *testing.T) []byte {
	b, err := os.ReadFile("../../docs/activation-files.md")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runSnippet runs the docs' snippet for one language on a good file, a
// file pasted with CRLF line ends, a tampered one and one under another kid.
func runSnippet(t *testing.T, bin, lang, name string, pre ...string) {
	dir := t.TempDir()
	script := filepath.Join(dir, name)
	if err := os.WriteFile(script, []byte(fence(t, lang)), 0o600); err != nil {
		t.Fatal(err)
	}
	vpub, vpriv := key(9)
	good := sampleActivation(t, "2026-a", vpriv)
	env, _ := Decode(good, TypeActivation)
	tampered := Encode(Envelope{Type: TypeActivation, Kid: "2026-a", Signature: env.Signature,
		Payload: bytes.Replace(env.Payload, []byte(`"500"`), []byte(`"900"`), 1)})
	write := func(n string, b []byte) string {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	trusted := "2026-a=" + EncodeKey(vpub)
	run := func(file, trust string) (string, error) {
		out, err := exec.Command(bin, append(pre, script, file, trust)...).Output()
		return string(out), err
	}
	for _, f := range []string{write("good.txt", good), write("crlf.txt", bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n")))} {
		out, err := run(f, trusted)
		if err != nil {
			t.Fatalf("%s: %v %s", f, err, out)
		}
		var a Activation
		if err := json.Unmarshal([]byte(out), &a); err != nil || a.Serial != "AF-0000-1111-2222-3333" || a.Kind != Formal {
			t.Fatalf("output %q: %v", out, err)
		}
	}
	if out, err := run(write("bad.txt", tampered), trusted); err == nil {
		t.Fatalf("tampered file accepted: %s", out)
	}
	if out, err := run(write("good2.txt", good), "2026-b="+EncodeKey(vpub)); err == nil {
		t.Fatalf("file accepted under another kid: %s", out)
	}
}

func TestDocSnippetNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		skipUnlessCI(t, "node is not installed (make deps: nodejs)")
	}
	runSnippet(t, node, "js", "verify.mjs")
}

func TestDocSnippetPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		skipUnlessCI(t, "python3 is not installed (make deps: python3)")
	}
	if exec.Command(py, "-c", "import cryptography").Run() != nil {
		skipUnlessCI(t, "python3 has no cryptography package (make deps: python3-cryptography)")
	}
	runSnippet(t, py, "python", "verify.py")
}

// skipUnlessCI skips a test whose interpreter is missing on a developer's
// machine; in CI (CI set, make deps ran) a missing interpreter fails it.
func skipUnlessCI(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}
