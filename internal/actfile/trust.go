package actfile

import (
	"crypto/ed25519"
	"fmt"
	"sort"
	"strings"

	"github.com/licensehost/licensehost/internal/signing"
)

// TrustSet is the set of vendor public keys a host trusts for activation
// files, by kid.
type TrustSet map[string]ed25519.PublicKey

// Add adds kid → pub. Adding the same pair twice is fine; one kid with two
// different keys is an error (a file could not say which it means).
func (t TrustSet) Add(kid string, pub ed25519.PublicKey) error {
	if !ValidKid(kid) {
		return fmt.Errorf("%w: kid %q (1-64 of A-Z a-z 0-9 . _ -)", ErrInvalidVendorKey, kid)
	}
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: kid %q: key is not 32 bytes", ErrInvalidVendorKey, kid)
	}
	if old, ok := t[kid]; ok && !old.Equal(pub) {
		return fmt.Errorf("%w: kid %q given twice with different keys", ErrInvalidVendorKey, kid)
	}
	t[kid] = pub
	return nil
}

// Kids returns the trusted kids, sorted.
func (t TrustSet) Kids() []string {
	ks := make([]string, 0, len(t))
	for k := range t {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ParseVendorKey parses the value of --vendor-key: "kid=BASE64" (the raw
// 32-byte key in base64, as `licensed signing-key list` prints it).
func ParseVendorKey(s string) (string, ed25519.PublicKey, error) {
	kid, val, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok || kid == "" {
		return "", nil, fmt.Errorf("%w: %q: want kid=BASE64", ErrInvalidVendorKey, short(s))
	}
	if !ValidKid(kid) {
		return "", nil, fmt.Errorf("%w: kid %q (1-64 of A-Z a-z 0-9 . _ -)", ErrInvalidVendorKey, short(kid))
	}
	pub, err := signing.ParsePublicKey(val)
	if err != nil {
		return "", nil, fmt.Errorf("%w: kid %q: %w", ErrInvalidVendorKey, kid, err)
	}
	return kid, pub, nil
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
