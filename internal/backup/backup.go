// Package backup writes and restores a licensehost backup file
// (docs/backup.md): one gzip'd tar holding a manifest, a consistent snapshot
// of the store and the data directory's key and token files. The store's
// own part is opaque here: the daemon passes a function that writes it
// (storage.Store.Backup) and restore gets one that loads it
// (storage.Restore), so this package imports no storage engine.
package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Format and version of the manifest.
const (
	Format  = "licensehost-backup"
	Version = 1
)

// Entry names in the archive.
const (
	ManifestName = "licensehost-backup.json"
	DBName       = "db.badger"
)

// Bounds of what Restore reads.
const (
	MaxDBSize   = 1 << 30  // the store's snapshot
	MaxFileSize = 64 << 10 // each key or token file
)

// secretFiles are the data directory files a backup may carry, with the
// mode they are restored with.
var secretFiles = map[string]os.FileMode{
	"installation.key": 0o600,
	"record.key":       0o600, // the license record's seal secret (docs/reliability.md)
	"installation.pub": 0o644,
	"admin.token":      0o600,
	"app.token":        0o600,
}

// Errors of Restore and Verify.
var (
	// ErrNotBackup: not a licensehost backup (not gzip/tar, no manifest,
	// another format or version, an unknown entry).
	ErrNotBackup = errors.New("not a licensehost backup file")
	// ErrDamaged: an entry's checksum or size does not match the manifest,
	// or the archive is cut.
	ErrDamaged = errors.New("damaged backup file")
	// ErrNotEmpty: the target data directory holds files.
	ErrNotEmpty = errors.New("the data directory is not empty: restore only into an empty or new directory")
)

// Manifest describes a backup.
type Manifest struct {
	Format      string            `json:"format"`
	Version     int               `json:"version"`
	CreatedAt   time.Time         `json:"createdAt"`
	MachineID   string            `json:"machineId"`   // the machine code of the host that wrote it
	HostVersion string            `json:"hostVersion"` // licensehost's version
	SHA256      map[string]string `json:"sha256"`      // entry name → hex SHA-256
	Sizes       map[string]int64  `json:"sizes"`
}

// Source is what Write backs up.
type Source struct {
	// DB writes the store's consistent snapshot.
	DB func(w io.Writer) error
	// Files maps archive names (installation.key, admin.token, …) to paths;
	// missing files are skipped.
	Files       map[string]string
	MachineID   string
	HostVersion string
	Now         time.Time
	// TempDir holds the snapshot while the archive is built ("" = os.TempDir).
	TempDir string
}

// Write writes a backup of src to w.
func Write(w io.Writer, src Source) (Manifest, error) {
	m := Manifest{Format: Format, Version: Version, CreatedAt: src.Now.UTC(), MachineID: src.MachineID,
		HostVersion: src.HostVersion, SHA256: map[string]string{}, Sizes: map[string]int64{}}
	tmp, err := os.CreateTemp(src.TempDir, "licensehost-backup-*.db")
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	if err := src.DB(io.MultiWriter(tmp, h)); err != nil {
		return m, fmt.Errorf("backup: store snapshot: %w", err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	m.SHA256[DBName], m.Sizes[DBName] = hex.EncodeToString(h.Sum(nil)), size
	files := map[string][]byte{}
	for name, path := range src.Files {
		if _, ok := secretFiles[name]; !ok || path == "" {
			continue
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return m, fmt.Errorf("backup: %w", err)
		}
		s := sha256.Sum256(b)
		files[name], m.SHA256[name], m.Sizes[name] = b, hex.EncodeToString(s[:]), int64(len(b))
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	put := func(name string, size int64, mode int64, body io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Size: size, Mode: mode, ModTime: m.CreatedAt, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := io.Copy(tw, body)
		return err
	}
	if err := put(ManifestName, int64(len(mj)), 0o644, bytes.NewReader(mj)); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	if err := put(DBName, size, 0o600, io.LimitReader(tmp, size)); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := put(n, int64(len(files[n])), int64(secretFiles[n]), bytes.NewReader(files[n])); err != nil {
			return m, fmt.Errorf("backup: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	if err := gz.Close(); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// read walks a backup: the manifest first, then every entry checked
// against it; fn gets each checked entry (the store's as a file to read
// again from its start, the others as bytes).
func read(r io.Reader, tempDir string, fn func(m Manifest, name string, db *os.File, b []byte) error) (Manifest, error) {
	var m Manifest
	gz, err := gzip.NewReader(r)
	if err != nil {
		return m, fmt.Errorf("%w: %w", ErrNotBackup, err)
	}
	tr := tar.NewReader(gz)
	hd, err := tr.Next()
	if err != nil || hd.Name != ManifestName || hd.Size > MaxFileSize {
		return m, fmt.Errorf("%w: no manifest first", ErrNotBackup)
	}
	mb, err := io.ReadAll(io.LimitReader(tr, MaxFileSize))
	if err != nil {
		return m, fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	if err := json.Unmarshal(mb, &m); err != nil || m.Format != Format {
		return m, fmt.Errorf("%w: bad manifest", ErrNotBackup)
	}
	if m.Version != Version {
		return m, fmt.Errorf("%w: version %d (this licensehost reads version %d)", ErrNotBackup, m.Version, Version)
	}
	seen := map[string]bool{}
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, fmt.Errorf("%w: %w", ErrDamaged, err)
		}
		want, ok := m.SHA256[hd.Name]
		_, secret := secretFiles[hd.Name]
		if !ok || seen[hd.Name] || (hd.Name != DBName && !secret) || hd.Typeflag != tar.TypeReg {
			return m, fmt.Errorf("%w: unexpected entry %q", ErrNotBackup, hd.Name)
		}
		seen[hd.Name] = true
		limit := int64(MaxFileSize)
		if hd.Name == DBName {
			limit = MaxDBSize
		}
		if hd.Size > limit || hd.Size != m.Sizes[hd.Name] {
			return m, fmt.Errorf("%w: %s has the wrong size", ErrDamaged, hd.Name)
		}
		h := sha256.New()
		if hd.Name == DBName {
			f, err := os.CreateTemp(tempDir, "licensehost-restore-*.db")
			if err != nil {
				return m, err
			}
			defer os.Remove(f.Name())
			defer f.Close()
			if n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(tr, limit)); err != nil || n != hd.Size {
				return m, fmt.Errorf("%w: %s is cut", ErrDamaged, hd.Name)
			}
			if hex.EncodeToString(h.Sum(nil)) != want {
				return m, fmt.Errorf("%w: %s checksum mismatch", ErrDamaged, hd.Name)
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return m, err
			}
			if err := fn(m, hd.Name, f, nil); err != nil {
				return m, err
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, limit))
		if err != nil || int64(len(b)) != hd.Size {
			return m, fmt.Errorf("%w: %s is cut", ErrDamaged, hd.Name)
		}
		if s := sha256.Sum256(b); hex.EncodeToString(s[:]) != want {
			return m, fmt.Errorf("%w: %s checksum mismatch", ErrDamaged, hd.Name)
		}
		if err := fn(m, hd.Name, nil, b); err != nil {
			return m, err
		}
	}
	for name := range m.SHA256 {
		if !seen[name] {
			return m, fmt.Errorf("%w: %s is missing", ErrDamaged, name)
		}
	}
	return m, nil
}

// Verify reads a whole backup and checks every entry against the manifest.
func Verify(r io.Reader) (Manifest, error) {
	return read(r, "", func(Manifest, string, *os.File, []byte) error { return nil })
}

// Restore puts a backup into dataDir, which must be missing or empty: the
// store through restoreDB (into dataDir/db), the key and token files with
// their modes. The whole archive is checked before anything is written;
// on any failure dataDir is left empty.
func Restore(r io.Reader, dataDir string, restoreDB func(dbDir string, r io.Reader) error) (Manifest, error) {
	ents, err := os.ReadDir(dataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return Manifest{}, err
	case len(ents) > 0:
		return Manifest{}, fmt.Errorf("%w (%s)", ErrNotEmpty, dataDir)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return Manifest{}, err
	}
	// Stage the small files in memory and the store in a temporary file:
	// nothing lands in dataDir until the whole archive checked out.
	files := map[string][]byte{}
	stage, err := os.CreateTemp(filepath.Dir(filepath.Clean(dataDir)), ".licensehost-restore-*.db")
	if err != nil {
		return Manifest{}, err
	}
	defer os.Remove(stage.Name())
	defer stage.Close()
	m, err := read(r, filepath.Dir(filepath.Clean(dataDir)), func(_ Manifest, name string, db *os.File, b []byte) error {
		if db != nil {
			_, err := io.Copy(stage, db)
			return err
		}
		files[name] = b
		return nil
	})
	if err != nil {
		return m, err
	}
	if _, err := stage.Seek(0, io.SeekStart); err != nil {
		return m, err
	}
	fail := func(err error) (Manifest, error) {
		if ents, _ := os.ReadDir(dataDir); len(ents) > 0 {
			for _, e := range ents {
				_ = os.RemoveAll(filepath.Join(dataDir, e.Name()))
			}
		}
		return m, err
	}
	if err := restoreDB(filepath.Join(dataDir, "db"), stage); err != nil {
		return fail(err)
	}
	for name, b := range files {
		if err := writeSynced(filepath.Join(dataDir, name), b, secretFiles[name]); err != nil {
			return fail(err)
		}
	}
	return m, nil
}

func writeSynced(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
