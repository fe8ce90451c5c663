package wasm_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/plugins/wasm"
	"github.com/licensehost/licensehost/plugins/wire"
)

// Every hostile class of docs/policy-abi.md §3 ends its call with the right
// kind of error, and the policy keeps answering afterwards (a fresh instance
// replaces the discarded one). The wall-clock bounds are asserted against
// the real daemon (cmd/host/sandbox_e2e_test.go); here only the outcome.
func TestHostileClasses(t *testing.T) {
	for _, c := range []struct {
		file string
		kind error
		msg  string // the error's text holds it
	}{
		{"bulkmem.wasm", wire.ErrTimeout, ""},
		{"tables.wasm", wire.ErrTimeout, ""},
		{"bigfunc.wasm", wire.ErrTimeout, ""},
		{"treecall.wasm", wire.ErrTimeout, ""},
		// The call depth limit traps it, not wazero's own stack ceiling.
		{"deeprec.wasm", wire.ErrTrap, fmt.Sprintf("call stack deeper than %d", wasm.MaxCallDepth)},
		{"fdstorm.wasm", wire.ErrTimeout, ""},
		{"simdleb.wasm", wire.ErrTimeout, ""},
		{"padded.wasm", wire.ErrTimeout, ""},
		{"reftype.wasm", wire.ErrTimeout, ""},
		{"hostcalls.wasm", wire.ErrTimeout, ""},
	} {
		t.Run(c.file, func(t *testing.T) {
			p := load(t, c.file, wasm.Config{Timeout: callTimeout(c.kind), MemoryPages: 512, Instances: 1})
			for range 2 {
				_, err := p.Decide(context.Background(), sample)
				if !errors.Is(err, c.kind) {
					t.Fatalf("Decide error = %v, want %v", err, c.kind)
				}
				if !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("Decide error = %.300v, want it to say %q", err, c.msg)
				}
			}
			t.Logf("%v", err(p))
		})
	}
}

// Load-time bounds: each refusal names its reason.
func TestLoadBounds(t *testing.T) {
	for _, c := range []struct {
		file string
		cfg  wasm.Config
		want error
	}{
		{"bigtable.wasm", wasm.Config{}, wasm.ErrTables},
		{"startloop.wasm", wasm.Config{InitTimeout: 50 * time.Millisecond}, wire.ErrTimeout},
		{"initloop.wasm", wasm.Config{InitTimeout: 50 * time.Millisecond}, wire.ErrTimeout},
		{"builtin.wasm", wasm.Config{CompileTimeout: time.Millisecond, CacheDir: "-"}, wasm.ErrCompile},
	} {
		if c.cfg.CacheDir == "-" {
			c.cfg.CacheDir = t.TempDir() // a cold compile
		}
		p, err := loadErr(t, c.file, c.cfg)
		if err == nil {
			p.Close(context.Background())
			t.Errorf("%s loaded; want it refused", c.file)
			continue
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.file, err, c.want)
		}
		t.Logf("%s refused: %v", c.file, err)
	}
}

// A 130-byte module whose export section declares 67 million exports: wazero's
// decoder allocates them up front (gigabytes, for seconds). The compile
// child runs out of its memory limit; the host is untouched.
func TestCompileMemoryBounded(t *testing.T) {
	mod := []byte("\x00asm\x01\x00\x00\x00\x01\x10\x03`\x00\x01\x7f`\x01\x7f\x01\x7f`\x02\x7f\x7f\x01~\x03\x04\x03\x00\x01\x02\x04\n\x02o\x00\x01p\x01\x01\xff\xff?\x05\x03\x01\x00\x01\aA\x80\x80\x80 \xfc\x0f\x01\x1a\xd0pA\xff\xff?\xfc\x10\x01k\xfc\x0f\x01\x1aA\x00\xd0p\xfc\x10\x01\xfc\x11\x01A\x00\xd0o\xfc\x10\x00\xfc\x11\x00\f\x00\vB\x00\v\x00\x1f\x04name\x02\a\x03\x00\x00\x01\x00\x02\x00\xe5\x0f\x02\x00\x04free\x01\x06cappeA")
	sum := sha256.Sum256(mod)
	compile := func() {
		_, err := wasm.New(context.Background(), mod, wasm.Config{SHA256: hex.EncodeToString(sum[:]), CompileTimeout: time.Minute})
		if !errors.Is(err, wasm.ErrCompile) {
			t.Fatalf("error %v, want %v", err, wasm.ErrCompile)
		}
		t.Log(err)
	}
	compile()
	// Where a seccomp filter refuses setrlimit (the packaged systemd unit),
	// the parent's watch of the child's RSS bounds it.
	wasm.WithoutChildRlimit(compile)
}
