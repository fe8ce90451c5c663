package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// recorder is a testing.TB whose fatal failure is recorded and ends only
// the goroutine of check.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatal(args ...any) {
	r.failed = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, a ...any) {
	r.failed = fmt.Sprintf(format, a...)
	runtime.Goexit()
}

// check runs Check on its own goroutine.
func (r *recorder) check(path string, want []byte, cmd string) {
	r.failed = ""
	done := make(chan struct{})
	go func() {
		defer close(done)
		Check(r, path, want, cmd)
	}()
	<-done
}

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gen.txt")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	r.check(path, []byte("old\n"), "regen")
	if r.failed != "" {
		t.Fatalf("the file in step failed: %s", r.failed)
	}
	r.check(path, []byte("new\n"), "go test ./x -update")
	if want := path + " is not what its declarations make; run: go test ./x -update"; r.failed != want {
		t.Fatalf("a lagging file: %q, want %q", r.failed, want)
	}
	if b, _ := os.ReadFile(path); string(b) != "old\n" {
		t.Fatalf("rewritten without -update: %q", b)
	}
	*update = true
	defer func() { *update = false }()
	r.check(path, []byte("new\n"), "regen")
	if b, _ := os.ReadFile(path); r.failed != "" || string(b) != "new\n" {
		t.Fatalf("-update: %q, %q", r.failed, b)
	}
}
