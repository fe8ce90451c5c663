package backup

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func sample(t *testing.T) ([]byte, string) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "installation.key"), []byte("PRIVATE"), 0o600)
	os.WriteFile(filepath.Join(src, "admin.token"), []byte("TOKEN\n"), 0o600)
	var buf bytes.Buffer
	_, err := Write(&buf, Source{
		DB:        func(w io.Writer) error { _, err := w.Write(bytes.Repeat([]byte("db"), 5000)); return err },
		Files:     map[string]string{"installation.key": filepath.Join(src, "installation.key"), "admin.token": filepath.Join(src, "admin.token"), "app.token": filepath.Join(src, "missing")},
		MachineID: "server_0123456789abcdef", HostVersion: "test", Now: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), src
}

func TestRoundTrip(t *testing.T) {
	b, _ := sample(t)
	m, err := Verify(bytes.NewReader(b))
	if err != nil || m.MachineID != "server_0123456789abcdef" || len(m.SHA256) != 3 {
		t.Fatalf("%+v %v", m, err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	var got []byte
	_, err = Restore(bytes.NewReader(b), dir, func(dbDir string, r io.Reader) error {
		got, _ = io.ReadAll(r)
		return os.MkdirAll(dbDir, 0o700)
	})
	if err != nil || !bytes.Equal(got, bytes.Repeat([]byte("db"), 5000)) {
		t.Fatalf("restore: %v (%d bytes)", err, len(got))
	}
	fi, err := os.Stat(filepath.Join(dir, "installation.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if _, err := Restore(bytes.NewReader(b), dir, func(string, io.Reader) error { return nil }); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("restore over data: %v", err)
	}
}

func TestBadArchives(t *testing.T) {
	b, _ := sample(t)
	flip := bytes.Clone(b)
	flip[len(flip)/2] ^= 0xff
	for name, in := range map[string][]byte{
		"not gzip": []byte("hello"), "cut": b[:len(b)/2], "flipped": flip, "empty": nil,
	} {
		dir := filepath.Join(t.TempDir(), "data")
		called := false
		_, err := Restore(bytes.NewReader(in), dir, func(string, io.Reader) error { called = true; return nil })
		if !errors.Is(err, ErrNotBackup) && !errors.Is(err, ErrDamaged) {
			t.Errorf("%s: %v", name, err)
		}
		if called {
			t.Errorf("%s: the store was restored from a bad archive", name)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("%s: files left behind", name)
		}
	}
	// A store that fails to load leaves the directory empty.
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := Restore(bytes.NewReader(b), dir, func(dbDir string, r io.Reader) error {
		os.MkdirAll(dbDir, 0o700)
		return errors.New("boom")
	}); err == nil {
		t.Fatal("no error")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatal("files left behind after a failed load")
	}
}
