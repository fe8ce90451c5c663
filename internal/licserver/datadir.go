package licserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/licensehost/licensehost/internal/licserver/store"
	"github.com/licensehost/licensehost/internal/signing"
)

// DataDir is the layout of a licensed data directory:
//
//	DIR/db/            the Badger store
//	DIR/signing.key    Ed25519 private key, PKCS #8 PEM, mode 0600
//	DIR/signing.pub    public key, PKIX PEM
//	DIR/admin.token    admin API bearer token, mode 0600
//	DIR/licensed.addr  base URL of the running server (present while it runs)
type DataDir string

// Paths inside a DataDir.
func (d DataDir) DB() string         { return filepath.Join(string(d), "db") }
func (d DataDir) PrivateKey() string { return filepath.Join(string(d), "signing.key") }
func (d DataDir) PublicKey() string  { return filepath.Join(string(d), "signing.pub") }
func (d DataDir) Token() string      { return filepath.Join(string(d), "admin.token") }
func (d DataDir) Addr() string       { return filepath.Join(string(d), "licensed.addr") }

// WriteAddr records the running server's base URL in Addr for the CLI's
// admin commands, atomically: a command never reads it half written.
func (d DataDir) WriteAddr(baseURL string) error {
	return atomicWrite(d.Addr(), []byte(baseURL+"\n"), 0o600)
}

// InitResult is what Init created.
type InitResult struct {
	PublicKey ed25519.PublicKey
	Token     string
}

// Init creates the data directory (0700), the signing key pair, the admin
// token and the store, and records appName. It returns
// ErrAlreadyInitialized when a signing key exists.
func Init(d DataDir, appName string, now time.Time, opts store.Options) (InitResult, error) {
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return InitResult{}, fmt.Errorf("licserver: init: %w", err)
	}
	if _, err := os.Stat(d.PrivateKey()); err == nil {
		return InitResult{}, fmt.Errorf("%w: %s exists", ErrAlreadyInitialized, d.PrivateKey())
	}
	pub, priv, err := signing.GenerateKey(nil)
	if err != nil {
		return InitResult{}, err
	}
	privPEM, err := signing.MarshalPrivateKeyPEM(priv)
	if err != nil {
		return InitResult{}, err
	}
	pubPEM, err := signing.MarshalPublicKeyPEM(pub)
	if err != nil {
		return InitResult{}, err
	}
	var tb [32]byte
	if _, err := rand.Read(tb[:]); err != nil {
		return InitResult{}, fmt.Errorf("licserver: init: token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(tb[:])
	if appName == "" {
		appName = DefaultAppName
	}
	st, err := store.Open(d.DB(), opts)
	if err != nil {
		return InitResult{}, err
	}
	err = st.Update(func(tx *store.Tx) error {
		if err := tx.PutMeta(metaAppName, appName); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: "cli", Action: "init", Outcome: "ok",
			Detail: "signing key " + signing.Fingerprint(pub)})
	})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return InitResult{}, err
	}
	// The private key is written last and exclusively: its presence means
	// "initialized".
	if err := writeFileExcl(d.Token(), []byte(token+"\n"), 0o600); err != nil {
		return InitResult{}, err
	}
	if err := os.WriteFile(d.PublicKey(), pubPEM, 0o644); err != nil {
		return InitResult{}, fmt.Errorf("licserver: init: %w", err)
	}
	if err := writeFileExcl(d.PrivateKey(), privPEM, 0o600); err != nil {
		return InitResult{}, err
	}
	return InitResult{PublicKey: pub, Token: token}, nil
}

func writeFileExcl(path string, b []byte, mode os.FileMode) error {
	return writeSynced(path, os.O_EXCL, b, mode)
}

// writeSynced creates path (opened with os.O_WRONLY|os.O_CREATE|flag) and
// writes b to it, synced to disk before it returns.
func writeSynced(path string, flag int, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|flag, mode)
	if err != nil {
		return fmt.Errorf("licserver: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("licserver: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("licserver: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("licserver: %w", err)
	}
	return nil
}

// readKey reads a key or token file; ErrNotInitialized when it is absent.
func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotInitialized
	}
	if err != nil {
		return nil, fmt.Errorf("licserver: %w", err)
	}
	return b, nil
}

// LoadPrivateKey reads the signing key; ErrNotInitialized when absent.
func (d DataDir) LoadPrivateKey() (ed25519.PrivateKey, error) {
	b, err := readKey(d.PrivateKey())
	if err != nil {
		return nil, err
	}
	return signing.ParsePrivateKeyPEM(b)
}

// LoadPublicKey reads the public key; ErrNotInitialized when absent.
func (d DataDir) LoadPublicKey() (ed25519.PublicKey, error) {
	b, err := readKey(d.PublicKey())
	if err != nil {
		return nil, err
	}
	return signing.ParsePublicKey(string(b))
}

// LoadToken reads the admin token; ErrNotInitialized when absent.
func (d DataDir) LoadToken() (string, error) {
	b, err := readKey(d.Token())
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("licserver: %s is empty", d.Token())
	}
	return t, nil
}
