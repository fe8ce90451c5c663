package e2etest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// PolicyDir writes a policy directory (docs/policy-abi.md) holding one
// WebAssembly module, name.wasm, and a policies.json routing the license
// types that match to it; limits is the module's "limits" object, or ""
// for the defaults. It returns the directory and the module's sha256 (hex).
func PolicyDir(t testing.TB, name string, wasm []byte, match, limits string) (dir, sum string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name+".wasm"), wasm, 0o600); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(wasm)
	sum = hex.EncodeToString(h[:])
	if limits != "" {
		limits = `,"limits":` + limits
	}
	manifest := fmt.Sprintf(`{"version":1,"modules":{%q:{"kind":"wasm","path":%q,"sha256":%q%s}},
		"licenseTypes":[{"match":%q,"module":%q}]}`, name, name+".wasm", sum, limits, match, name)
	if err := os.WriteFile(filepath.Join(dir, "policies.json"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, sum
}
