package hostclient

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/licensehost/licensehost/api"
)

// maxTokenFile bounds what ReadTokenFile reads: a token is a short line.
const maxTokenFile = 4096

// ReadTokenFile reads a bearer token from path, trimming surrounding white
// space. An empty file gives ErrEmptyToken. When the file is readable by its
// group or others (Unix), the token is returned together with an error
// matching ErrTokenFileInsecure: callers may warn and go on, or refuse.
func ReadTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hostclient: read token: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("hostclient: read token: %w", err)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("hostclient: read token: %s is a directory", path)
	}
	buf, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("hostclient: read token %s: %w", path, err)
	}
	if len(buf) > maxTokenFile {
		return "", fmt.Errorf("hostclient: read token %s: file larger than %d bytes, not a token file", path, maxTokenFile)
	}
	tok := strings.TrimSpace(string(buf))
	if tok == "" {
		return "", fmt.Errorf("hostclient: %s: %w", path, ErrEmptyToken)
	}
	if strings.ContainsAny(tok, "\r\n\t ") {
		return "", fmt.Errorf("hostclient: read token %s: a token is one word on one line", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return tok, fmt.Errorf("hostclient: %s (mode %04o; run chmod 600 %s): %w", path, fi.Mode().Perm(), path, ErrTokenFileInsecure)
	}
	return tok, nil
}

// DefaultDataDir is the daemon's default data directory:
// $XDG_DATA_HOME/licensehost, else ~/.local/share/licensehost.
func DefaultDataDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "licensehost"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("hostclient: no data directory: %w", err)
	}
	return filepath.Join(home, ".local", "share", "licensehost"), nil
}

// DefaultTokenFile is the admin token file in the default data directory.
func DefaultTokenFile() (string, error) {
	d, err := DefaultDataDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, api.TokenFileName), nil
}
