package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/licensehost/licensehost/internal/hostdir"
)

// sealKeyFile is the installation secret the license record is sealed with
// (docs/reliability.md): 32 random bytes, hex, mode 0600, created at the
// first start. Back it up with the data directory: a store restored without
// it reads as tampered until the next successful verification.
const sealKeyFile = "record.key"

// loadSealKey reads the installation secret, creating it when missing.
func loadSealKey(dataDir string, log *slog.Logger) (key []byte, created bool, err error) {
	path := filepath.Join(dataDir, sealKeyFile)
	tok, created, insecure, err := hostdir.EnsureToken(path)
	if err != nil {
		return nil, false, fmt.Errorf("installation secret %s: %w", path, err)
	}
	if insecure {
		log.Warn("the installation secret is readable by other users; run chmod 600 on it", "file", path)
	}
	return []byte(tok), created, nil
}

// trustNotes are the warnings about how far license server answers can be
// trusted, logged at start and shown in the status (docs/reliability.md).
func trustNotes(licenseServer, serverPublicKey string) []string {
	var notes []string
	if u, err := url.Parse(licenseServer); err == nil && u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		notes = append(notes, fmt.Sprintf("the license server %s is reached over plain http:// on the network: anyone on the path can read and change its answers; use https:// or pin the server's key", u.Redacted()))
	}
	if serverPublicKey == "" {
		notes = append(notes, "no license server key is pinned (--server-public-key): any server answering success activates any key with the limits it names, and stored license fields are protected only by the installation secret")
	}
	return notes
}

func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
