package plugins_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/plugins"
)

// A policy directory holds policies.json and the modules it names (each
// pinned by its sha256); Load checks and loads them all, and the Set routes
// each decision by license type — here the tiered example of sdk/examples
// for "终生赞助版", the built-in policy for every other type.
func ExampleLoad() {
	dir, err := os.MkdirTemp("", "policies")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	module, err := os.ReadFile(filepath.Join("wasm", "testdata", "tiered.wasm"))
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tiered.wasm"), module, 0o644); err != nil {
		log.Fatal(err)
	}
	sum := sha256.Sum256(module)
	manifest := `{"version": 1,
	  "modules": {"tiered": {"kind": "wasm", "path": "tiered.wasm", "sha256": "` + hex.EncodeToString(sum[:]) + `"}},
	  "licenseTypes": [{"match": "终生赞助版", "module": "tiered"}]}`
	if err := os.WriteFile(filepath.Join(dir, plugins.ManifestName), []byte(manifest), 0o644); err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	set, err := plugins.Load(ctx, dir, plugins.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer set.Close(ctx)
	for _, licenseType := range []string{"终生赞助版", "年度版"} {
		in := engine.QuotaInput{LicenseType: licenseType, Status: engine.StatusActive, IsSponsored: true,
			Limits: engine.Limits{Total: engine.Int64(500), Batch: engine.Int64(100)}, Used: 10, Batch: 300}
		d, err := set.Decide(ctx, in)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: batch of 300 allowed=%v (%s, policy %s)\n", licenseType, d.Allowed, d.Reason, d.Policy)
	}
	// Output:
	// 终生赞助版: batch of 300 allowed=true (ok, policy wasm:tiered)
	// 年度版: batch of 300 allowed=false (batch_exceeded, policy builtin)
}
