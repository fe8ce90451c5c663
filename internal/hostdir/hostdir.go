// Package hostdir is the licensehost daemon's data directory and the bearer
// token files in it: where the directory is by default, how a token file is
// read, and how the daemon creates one. The daemon (cmd/host) owns these
// files; hostclient and the tray read them through this package. See
// docs/api.md for the token files' contract.
package hostdir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/licensehost/licensehost/api"
)

var (
	// ErrTokenFileInsecure: the token file is readable by its group or others.
	ErrTokenFileInsecure = errors.New("token file is readable by group or others")
	// ErrEmptyToken: the token file is empty.
	ErrEmptyToken = errors.New("token file is empty")
)

// maxTokenFile bounds what ReadToken reads: a token is a short line.
const maxTokenFile = 4096

// Default is the daemon's default data directory:
// $XDG_DATA_HOME/licensehost, else ~/.local/share/licensehost.
func Default() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "licensehost"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no data directory: %w", err)
	}
	return filepath.Join(home, ".local", "share", "licensehost"), nil
}

// TokenFile is the admin token file of data directory dir.
func TokenFile(dir string) string { return filepath.Join(dir, api.TokenFileName) }

// ReadToken reads a bearer token from path, trimming surrounding white
// space. An empty file gives ErrEmptyToken. When the file is readable by its
// group or others (Unix), the token is returned together with an error
// matching ErrTokenFileInsecure: callers may warn and go on, or refuse.
func ReadToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("read token: %s is a directory", path)
	}
	buf, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("read token %s: %w", path, err)
	}
	if len(buf) > maxTokenFile {
		return "", fmt.Errorf("read token %s: file larger than %d bytes, not a token file", path, maxTokenFile)
	}
	tok := strings.TrimSpace(string(buf))
	if tok == "" {
		return "", fmt.Errorf("%s: %w", path, ErrEmptyToken)
	}
	if strings.ContainsAny(tok, "\r\n\t ") {
		return "", fmt.Errorf("read token %s: a token is one word on one line", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return tok, fmt.Errorf("%s (mode %04o; run chmod 600 %s): %w", path, fi.Mode().Perm(), path, ErrTokenFileInsecure)
	}
	return tok, nil
}

// EnsureToken reads the token file at path, creating it (32 random bytes,
// hex, mode 0600, its directory 0700) when it does not exist. insecure
// reports a file readable by group or others: the token is still returned,
// the caller should warn.
func EnsureToken(path string) (token string, created, insecure bool, err error) {
	return ensureToken(path, 0o600)
}

// EnsureGroupToken is EnsureToken for a token the file's group may read (the
// packaged app token, docs/install.md): a new file gets mode 0640 whatever
// the umask, an existing one without group read gets it (0600 → 0640, as a
// restored backup has it), and insecure reports only more than 0640 (others
// may read, or the group may write).
func EnsureGroupToken(path string) (token string, created, insecure bool, err error) {
	return ensureToken(path, 0o640)
}

func ensureToken(path string, perm os.FileMode) (token string, created, insecure bool, err error) {
	tok, err := ReadToken(path)
	switch {
	case err == nil:
		if perm&0o040 != 0 {
			if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o040 == 0 {
				if err := os.Chmod(path, fi.Mode().Perm()|0o040); err != nil {
					return "", false, false, fmt.Errorf("token file mode: %w", err)
				}
			}
		}
		return tok, false, false, nil
	case errors.Is(err, ErrTokenFileInsecure):
		fi, serr := os.Stat(path)
		return tok, false, serr != nil || fi.Mode().Perm()&^perm != 0, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, false, fmt.Errorf("create token directory: %w", err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", false, false, err
	}
	tok = hex.EncodeToString(b[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return "", false, false, fmt.Errorf("create token file: %w", err)
	}
	if perm != 0o600 {
		// The umask may have taken the group bit away.
		if err := f.Chmod(perm); err != nil {
			f.Close()
			return "", false, false, fmt.Errorf("token file mode: %w", err)
		}
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		return "", false, false, fmt.Errorf("write token file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", false, false, fmt.Errorf("sync token file: %w", err)
	}
	return tok, true, false, f.Close()
}
