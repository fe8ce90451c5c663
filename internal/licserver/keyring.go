package licserver

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/signing"
)

// Keyring is licensed's set of signing keys by kid (docs/licensed.md,
// "Signing keys"). The current key signs every answer and activation file;
// older keys stay listed so hosts can keep trusting their files.
//
// On disk: DIR/keys/<kid>.key (PKCS #8 PEM, 0600) and DIR/keys/current (the
// current kid). DIR/signing.key and signing.pub always hold the current key,
// so `licensed pubkey` and a host pinning it keep working. A data directory
// from before key rotation has no keys/ folder: its signing.key is the only
// key, with the kid DefaultKid(pub).
type Keyring struct {
	dir     DataDir
	mu      sync.RWMutex
	current string
	keys    map[string]ed25519.PrivateKey
	created map[string]time.Time
}

// KeyInfo describes one signing key.
type KeyInfo struct {
	Kid       string    `json:"kid"`
	PublicKey string    `json:"publicKey"` // base64 raw 32 bytes
	Current   bool      `json:"current"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
}

// DefaultKid is the kid of a key without a chosen one: the first 16 hex
// characters of the SHA-256 of its public key (signing.Fingerprint).
func DefaultKid(pub ed25519.PublicKey) string { return signing.Fingerprint(pub) }

// KeysDir is where the keyring lives.
func (d DataDir) KeysDir() string { return filepath.Join(string(d), "keys") }

// LoadKeyring reads the data directory's signing keys.
func (d DataDir) LoadKeyring() (*Keyring, error) {
	k := &Keyring{dir: d, keys: map[string]ed25519.PrivateKey{}, created: map[string]time.Time{}}
	cur, err := os.ReadFile(filepath.Join(d.KeysDir(), "current"))
	if errors.Is(err, fs.ErrNotExist) {
		priv, err := d.LoadPrivateKey()
		if err != nil {
			return nil, err
		}
		kid := DefaultKid(priv.Public().(ed25519.PublicKey))
		k.current, k.keys[kid] = kid, priv
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("licserver: keyring: %w", err)
	}
	ents, err := os.ReadDir(d.KeysDir())
	if err != nil {
		return nil, fmt.Errorf("licserver: keyring: %w", err)
	}
	for _, e := range ents {
		kid, ok := strings.CutSuffix(e.Name(), ".key")
		if !ok || !actfile.ValidKid(kid) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d.KeysDir(), e.Name()))
		if err != nil {
			return nil, fmt.Errorf("licserver: keyring: %w", err)
		}
		priv, err := signing.ParsePrivateKeyPEM(b)
		if err != nil {
			return nil, fmt.Errorf("licserver: keyring: %s: %w", e.Name(), err)
		}
		k.keys[kid] = priv
		if fi, err := e.Info(); err == nil {
			k.created[kid] = fi.ModTime().UTC()
		}
	}
	k.current = strings.TrimSpace(string(cur))
	if _, ok := k.keys[k.current]; !ok {
		return nil, fmt.Errorf("licserver: keyring: current kid %q has no key file", k.current)
	}
	return k, nil
}

// Current returns the current kid and key.
func (k *Keyring) Current() (string, ed25519.PrivateKey) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current, k.keys[k.current]
}

// List returns every key, sorted by kid.
func (k *Keyring) List() []KeyInfo {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]KeyInfo, 0, len(k.keys))
	for kid, priv := range k.keys {
		out = append(out, KeyInfo{Kid: kid, PublicKey: signing.EncodePublicKey(priv.Public().(ed25519.PublicKey)),
			Current: kid == k.current, CreatedAt: k.created[kid]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kid < out[j].Kid })
	return out
}

// Rotate makes a new key under kid (DefaultKid of the new key when empty),
// makes it current and writes it durably; the old keys stay. A kid in use
// is refused with ErrInvalid.
func (k *Keyring) Rotate(kid string) (KeyInfo, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	pub, priv, err := signing.GenerateKey(nil)
	if err != nil {
		return KeyInfo{}, err
	}
	if kid == "" {
		kid = DefaultKid(pub)
	}
	if !actfile.ValidKid(kid) {
		return KeyInfo{}, fmt.Errorf("%w: kid must be 1-64 of [A-Za-z0-9._-]", ErrInvalid)
	}
	if _, ok := k.keys[kid]; ok {
		return KeyInfo{}, fmt.Errorf("%w: kid %q is in use", ErrInvalid, kid)
	}
	if err := os.MkdirAll(k.dir.KeysDir(), 0o700); err != nil {
		return KeyInfo{}, fmt.Errorf("licserver: keyring: %w", err)
	}
	// A directory from before rotation: keep its key under its kid first.
	for okid, opriv := range k.keys {
		if err := writeKeyFile(filepath.Join(k.dir.KeysDir(), okid+".key"), opriv); err != nil {
			return KeyInfo{}, err
		}
	}
	if err := writeKeyFile(filepath.Join(k.dir.KeysDir(), kid+".key"), priv); err != nil {
		return KeyInfo{}, err
	}
	privPEM, _ := signing.MarshalPrivateKeyPEM(priv)
	pubPEM, _ := signing.MarshalPublicKeyPEM(pub)
	if err := atomicWrite(k.dir.PrivateKey(), privPEM, 0o600); err != nil {
		return KeyInfo{}, err
	}
	if err := atomicWrite(k.dir.PublicKey(), pubPEM, 0o644); err != nil {
		return KeyInfo{}, err
	}
	// Switching "current" is the commit point.
	if err := atomicWrite(filepath.Join(k.dir.KeysDir(), "current"), []byte(kid+"\n"), 0o600); err != nil {
		return KeyInfo{}, err
	}
	now := time.Now().UTC()
	k.keys[kid], k.current, k.created[kid] = priv, kid, now
	return KeyInfo{Kid: kid, PublicKey: signing.EncodePublicKey(pub), Current: true, CreatedAt: now}, nil
}

func writeKeyFile(path string, priv ed25519.PrivateKey) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	b, err := signing.MarshalPrivateKeyPEM(priv)
	if err != nil {
		return err
	}
	return atomicWrite(path, b, 0o600)
}

// atomicWrite writes b to path through a synced temporary file and a rename.
func atomicWrite(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := writeSynced(tmp, os.O_TRUNC, b, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("licserver: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
