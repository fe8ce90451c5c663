package storage

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/engine/storetest"
)

// quiet discards Badger's log in tests.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openT(t *testing.T, dir string, l engine.StoreLimits) *Store {
	t.Helper()
	s, err := Open(dir, Options{Limits: l, Logger: quiet})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, l engine.StoreLimits) engine.Store {
		return openT(t, t.TempDir(), l)
	})
}

func TestPersistent(t *testing.T) {
	storetest.RunPersistent(t, func(t *testing.T, dir string) engine.Store {
		return openT(t, dir, engine.StoreLimits{})
	})
}

func TestCreatesDir0700(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "data")
	s := openT(t, dir, engine.StoreLimits{})
	defer s.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Fatalf("data dir mode = %v, want 0700", perm)
	}
}

// TestEventCapShrinks: reopening with a smaller event cap trims the log.
func TestEventCapShrinks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openT(t, dir, engine.StoreLimits{EventLogCap: 600})
	for i := range 600 {
		if err := s.AppendEvent(ctx, engine.Event{Message: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, engine.StoreLimits{EventLogCap: 3})
	defer s.Close()
	evs, err := s.Events(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].Message != "599" || evs[2].Message != "597" {
		t.Fatalf("events after shrinking the cap: %+v", evs)
	}
}

// TestIdempotencyKeysSurviveTrimAcrossReopen checks the trim bookkeeping
// reloaded at Open.
func TestIdempotencyTrimAfterReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := engine.StoreLimits{IdempotencyKeep: 32}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	admit := func(int64) ([]byte, bool, error) { return []byte("ok"), true, nil }
	s := openT(t, dir, l)
	for i := range 30 {
		if _, err := s.Consume(ctx, engine.ConsumeRequest{N: 1, IdempotencyKey: fmt.Sprint(i), Now: now}, admit); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = openT(t, dir, l)
	defer s.Close()
	for i := 30; i < 100; i++ {
		if _, err := s.Consume(ctx, engine.ConsumeRequest{N: 1, IdempotencyKey: fmt.Sprint(i), Now: now}, admit); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefIdem})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n < 32 || n > 64 || s.idemCount != n {
		t.Fatalf("%d keys stored (bookkeeping says %d), want 32…64", n, s.idemCount)
	}
}

func TestLockedSameProcess(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, engine.StoreLimits{})
	defer s.Close()
	_, err := Open(dir, Options{Logger: quiet})
	if !errors.Is(err, engine.ErrLocked) {
		t.Fatalf("second Open: err = %v, want ErrLocked", err)
	}
	t.Log(err)
	if msg := err.Error(); !strings.Contains(msg, dir) || !strings.Contains(msg, "another licensehost may be running") {
		t.Fatalf("locked message does not name the dir and the likely cause: %s", msg)
	}
}

// The child modes of this test binary, selected by an environment variable.
const (
	childEnv   = "LICENSEHOST_STORAGE_CHILD"
	childDir   = "LICENSEHOST_STORAGE_CHILD_DIR"
	childWrite = "write-then-wait" // Update, print "ok", wait to be killed
)

// TestChild is not a test: it is the body of the child process that the
// kill -9 and lock tests start (os.Args[0] -test.run=^TestChild$).
func TestChild(t *testing.T) {
	if os.Getenv(childEnv) != childWrite {
		t.Skip("helper process for TestKill9Durability and TestLockedOtherProcess")
	}
	s, err := Open(os.Getenv(childDir), Options{Logger: quiet})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	ctx := context.Background()
	err = s.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
		r.LicenseKey = "CHILD-KEY"
		return []engine.Event{{At: time.Unix(1, 0).UTC(), Kind: engine.EventActivated, Message: "child"}}, nil
	})
	if err == nil {
		_, err = s.Consume(ctx, engine.ConsumeRequest{N: 7, IdempotencyKey: "child"},
			func(int64) ([]byte, bool, error) { return []byte(`"child"`), true, nil })
	}
	if err != nil {
		fmt.Println("write:", err)
		os.Exit(3)
	}
	fmt.Println("ok")
	time.Sleep(time.Minute) // the parent kills us long before; never Close
	os.Exit(4)
}

// startChild runs the child on dir and waits for its "ok".
func startChild(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+childWrite, childDir+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ok" {
		t.Fatalf("child said %q (%v), want ok", line, err)
	}
	return cmd
}

func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

func TestKill9Durability(t *testing.T) {
	dir := t.TempDir()
	kill9(t, startChild(t, dir))

	s := openT(t, dir, engine.StoreLimits{})
	defer s.Close()
	ctx := context.Background()
	rec, err := s.Load(ctx)
	if err != nil || rec.LicenseKey != "CHILD-KEY" {
		t.Fatalf("after kill -9: Load = %+v, %v; want the child's record", rec, err)
	}
	evs, err := s.Events(ctx, 0)
	if err != nil || len(evs) != 1 || evs[0].Message != "child" {
		t.Fatalf("after kill -9: Events = %+v, %v", evs, err)
	}
	if used, err := s.Usage(ctx, ""); err != nil || used != 7 {
		t.Fatalf("after kill -9: Usage = %d, %v; want 7", used, err)
	}
	res, err := s.Consume(ctx, engine.ConsumeRequest{N: 7, IdempotencyKey: "child"},
		func(int64) ([]byte, bool, error) { return nil, false, errors.New("decide must not run") })
	if err != nil || !res.Replayed || string(res.Answer) != `"child"` {
		t.Fatalf("after kill -9: replay = %+v, %v", res, err)
	}
}

func TestLockedOtherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := startChild(t, dir)
	_, err := Open(dir, Options{Logger: quiet})
	if !errors.Is(err, engine.ErrLocked) {
		t.Fatalf("Open while another process holds the dir: err = %v, want ErrLocked", err)
	}
	kill9(t, cmd)
	s := openT(t, dir, engine.StoreLimits{}) // the lock died with the process
	s.Close()
}

func TestCorrupt(t *testing.T) {
	cases := map[string]func(t *testing.T) string{
		"file instead of dir": func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "data")
			if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		},
		"garbage MANIFEST": func(t *testing.T) string {
			dir := t.TempDir()
			s := openT(t, dir, engine.StoreLimits{})
			if err := s.Update(context.Background(), func(r *engine.Record) ([]engine.Event, error) { return nil, nil }); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if err := os.WriteFile(filepath.Join(dir, badger.ManifestFilename), []byte("this is not a manifest at all"), 0o600); err != nil {
				t.Fatal(err)
			}
			return dir
		},
		"truncated MANIFEST": func(t *testing.T) string {
			dir := t.TempDir()
			s := openT(t, dir, engine.StoreLimits{})
			s.Close()
			if err := os.WriteFile(filepath.Join(dir, badger.ManifestFilename), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return dir
		},
		"foreign files": func(t *testing.T) string {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("precious"), 0o600); err != nil {
				t.Fatal(err)
			}
			return dir
		},
		"another badger database": func(t *testing.T) string {
			dir := t.TempDir()
			db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("their"), []byte("data")) }); err != nil {
				t.Fatal(err)
			}
			db.Close()
			return dir
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			dir := mk(t)
			before := listDir(t, dir)
			s, err := Open(dir, Options{Logger: quiet})
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded on a corrupt dir")
			}
			if !errors.Is(err, engine.ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("error does not name the dir: %v", err)
			}
			after := listDir(t, dir)
			if name == "another badger database" {
				// Badger itself opened it (and started a new value log file)
				// before we saw no marker; its data must still be there.
				for _, f := range strings.Fields(before) {
					if !strings.Contains(after, f) {
						t.Fatalf("Open changed %s: after %s", f, after)
					}
				}
				return
			}
			if after != before {
				t.Fatalf("Open changed the directory:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// listDir describes dir's entries (or the file) with their sizes.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() {
		return fmt.Sprintf("file %d", fi.Size())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		if e.Name() == "LOCK" {
			continue // badger writes its pid there before failing
		}
		info, _ := e.Info()
		fmt.Fprintf(&b, "%s:%d ", e.Name(), info.Size())
	}
	return b.String()
}

func TestSchemaTooNew(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, engine.StoreLimits{})
	if err := s.Update(context.Background(), func(r *engine.Record) ([]engine.Event, error) {
		r.LicenseKey = "K"
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	// Rewrite the record as a future licensehost would.
	raw, _ := json.Marshal(map[string]any{"schemaVersion": engine.SchemaVersion + 1, "licenseKey": "K", "newField": []int{1}})
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyRecord, raw) }); err != nil {
		t.Fatal(err)
	}
	_, err := s.Load(context.Background())
	if !errors.Is(err, engine.ErrSchemaTooNew) {
		t.Fatalf("Load: err = %v, want ErrSchemaTooNew", err)
	}
	err = s.Update(context.Background(), func(*engine.Record) ([]engine.Event, error) {
		t.Error("fn ran on a record from a newer schema")
		return nil, nil
	})
	if !errors.Is(err, engine.ErrSchemaTooNew) {
		t.Fatalf("Update: err = %v, want ErrSchemaTooNew", err)
	}
	s.Close()

	_, err = Open(dir, Options{Logger: quiet})
	if !errors.Is(err, engine.ErrSchemaTooNew) {
		t.Fatalf("Open: err = %v, want ErrSchemaTooNew", err)
	}
	want := fmt.Sprintf("schema version %d", engine.SchemaVersion+1)
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), fmt.Sprintf("up to %d", engine.SchemaVersion)) {
		t.Fatalf("message does not name both versions: %v", err)
	}
}

func TestLayoutTooNew(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, engine.StoreLimits{})
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyFormat, u64(storeFormat+1)) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(dir, Options{Logger: quiet}); !errors.Is(err, engine.ErrSchemaTooNew) {
		t.Fatalf("Open: err = %v, want ErrSchemaTooNew", err)
	}
}
