package activation

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/signing"
)

// Installation key files in the host's data directory.
const (
	KeyFile    = "installation.key" // Ed25519 private key, PKCS #8 PEM, mode 0600
	PubKeyFile = "installation.pub" // its public part, raw 32 bytes in base64 and a newline, 0644
)

// LoadOrCreateKey returns the installation key of data directory dir,
// creating it on first start (created=true). The private part is written
// exclusively with mode 0600 and synced; the public part beside it.
func LoadOrCreateKey(dir string) (priv ed25519.PrivateKey, created bool, err error) {
	path := filepath.Join(dir, KeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		priv, err := signing.ParsePrivateKeyPEM(b)
		if err != nil {
			return nil, false, fmt.Errorf("installation key %s: %w", path, err)
		}
		return priv, false, ensurePub(dir, priv)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("installation key: %w", err)
	}
	_, priv, err = signing.GenerateKey(nil)
	if err != nil {
		return nil, false, err
	}
	pem, err := signing.MarshalPrivateKeyPEM(priv)
	if err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("installation key: %w", err)
	}
	if _, err := f.Write(pem); err != nil {
		f.Close()
		os.Remove(path)
		return nil, false, fmt.Errorf("installation key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, false, fmt.Errorf("installation key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("installation key: %w", err)
	}
	return priv, true, ensurePub(dir, priv)
}

func ensurePub(dir string, priv ed25519.PrivateKey) error {
	want := actfile.EncodeKey(priv.Public().(ed25519.PublicKey)) + "\n"
	path := filepath.Join(dir, PubKeyFile)
	if b, err := os.ReadFile(path); err == nil && string(b) == want {
		return nil
	}
	if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
		return fmt.Errorf("installation key: %w", err)
	}
	return nil
}

// ReadPublicKey reads the installation public key of dir (base64) for
// display; found is false before the daemon's first start.
func ReadPublicKey(dir string) (pub string, found bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, PubKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	k, err := signing.ParsePublicKey(string(b))
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", PubKeyFile, err)
	}
	return actfile.EncodeKey(k), true, nil
}
