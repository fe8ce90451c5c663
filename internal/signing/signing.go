// Package signing signs licensed's answers and verifies them on the client
// (stdlib only: crypto/ed25519).
//
// The server signs every /api/license/verify and /api/license/switch-device
// answer and carries the signature in a response header, so clients that
// ignore it keep working:
//
//	X-Licensehost-Signature: v1;t=<unix seconds>;sig=<base64 std, padded>
//
// The signature is Ed25519 over the canonical message
//
//	"licensehost-sig-v1\n" + path + "\n" + machineID + "\n" + nonce + "\n" +
//	<unix seconds, decimal> + "\n" + hex(sha256(body))
//
// where path is the request path, machineID the request's machineId (for
// switch-device its oldMachineId: the machine making the call, as
// internal/remote passes it), nonce the request's X-Licensehost-Nonce
// header (empty when the client sent none) and body the exact response body
// bytes. None of the fields may hold a newline or other control character.
package signing

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Wire names.
const (
	// HeaderSignature carries the signature on the answer.
	HeaderSignature = "X-Licensehost-Signature"
	// HeaderNonce carries the client's fresh nonce on the request.
	HeaderNonce = "X-Licensehost-Nonce"
	// Version is the only scheme this package knows.
	Version = "v1"
	// MessagePrefix starts every canonical message.
	MessagePrefix = "licensehost-sig-v1\n"
	// MaxNonceLen bounds a nonce; the server refuses longer ones.
	MaxNonceLen = 128
)

// GenerateKey returns a new Ed25519 key pair read from r (crypto/rand when nil).
func GenerateKey(r io.Reader) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	if r == nil {
		r = rand.Reader
	}
	pub, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: generate key: %w", err)
	}
	return pub, priv, nil
}

// Message returns the canonical message that is signed.
func Message(path, machineID, nonce string, serverTime time.Time, body []byte) []byte {
	sum := sha256.Sum256(body)
	var b strings.Builder
	b.Grow(len(MessagePrefix) + len(path) + len(machineID) + len(nonce) + 24 + 64)
	b.WriteString(MessagePrefix)
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(machineID)
	b.WriteByte('\n')
	b.WriteString(nonce)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatInt(serverTime.Unix(), 10))
	b.WriteByte('\n')
	b.WriteString(hex.EncodeToString(sum[:]))
	return []byte(b.String())
}

// Sign signs an answer and returns the value of the HeaderSignature header.
func Sign(priv ed25519.PrivateKey, path, machineID, nonce string, serverTime time.Time, body []byte) string {
	sig := ed25519.Sign(priv, Message(path, machineID, nonce, serverTime, body))
	return Version + ";t=" + strconv.FormatInt(serverTime.Unix(), 10) + ";sig=" + base64.StdEncoding.EncodeToString(sig)
}

// header is a parsed HeaderSignature value.
type header struct {
	t   time.Time
	sig []byte
}

// parseHeader parses "v1;t=<unix>;sig=<base64>". Unknown parameters are
// ignored so later versions of the server may add some.
func parseHeader(v string) (header, error) {
	parts := strings.Split(strings.TrimSpace(v), ";")
	if parts[0] != Version {
		if strings.HasPrefix(parts[0], "v") && !strings.Contains(parts[0], "=") {
			return header{}, fmt.Errorf("%w: %q", ErrUnsupportedVersion, parts[0])
		}
		return header{}, ErrMalformedSignature
	}
	var h header
	var haveT bool
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			return header{}, ErrMalformedSignature
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return header{}, fmt.Errorf("%w: bad t", ErrMalformedSignature)
			}
			h.t, haveT = time.Unix(n, 0), true
		case "sig":
			s, err := base64.StdEncoding.DecodeString(val)
			if err != nil || len(s) != ed25519.SignatureSize {
				return header{}, fmt.Errorf("%w: bad sig", ErrMalformedSignature)
			}
			h.sig = s
		}
	}
	if !haveT || h.sig == nil {
		return header{}, fmt.Errorf("%w: t and sig are required", ErrMalformedSignature)
	}
	return h, nil
}

// validField reports whether s may appear in the canonical message.
func validField(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// ValidField reports whether a machine id or nonce can be signed without
// ambiguity (no control characters); the server refuses requests where it
// is false.
func ValidField(s string) bool { return validField(s) }

// EncodePublicKey returns the base64 (std, padded) form of the raw 32-byte
// public key: the value of the host's --server-public-key.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey accepts a raw key in base64 (std or URL alphabet, padded or
// not) or a PEM "PUBLIC KEY" block (PKIX).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		return parsePEM[ed25519.PublicKey]([]byte(s), "PUBLIC KEY", x509.ParsePKIXPublicKey)
	}
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := e.DecodeString(s); err == nil {
			if len(b) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidKey, len(b), ed25519.PublicKeySize)
			}
			return ed25519.PublicKey(b), nil
		}
	}
	return nil, fmt.Errorf("%w: neither base64 nor PEM", ErrInvalidKey)
}

// MarshalPublicKeyPEM returns the PKIX PEM encoding of pub.
func MarshalPublicKeyPEM(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	return encodePEM("PUBLIC KEY", der, err)
}

// MarshalPrivateKeyPEM returns the PKCS #8 PEM encoding of priv.
func MarshalPrivateKeyPEM(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	return encodePEM("PRIVATE KEY", der, err)
}

// ParsePrivateKeyPEM decodes a PKCS #8 "PRIVATE KEY" PEM block.
func ParsePrivateKeyPEM(b []byte) (ed25519.PrivateKey, error) {
	return parsePEM[ed25519.PrivateKey](b, "PRIVATE KEY", x509.ParsePKCS8PrivateKey)
}

// encodePEM is the PEM block typ of der, the key marshaled (err: how
// marshaling failed).
func encodePEM(typ string, der []byte, err error) ([]byte, error) {
	if err != nil {
		return nil, fmt.Errorf("signing: marshal %s: %w", strings.ToLower(typ), err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), nil
}

// parsePEM decodes the PEM block typ of b with parse into an Ed25519 key K.
func parsePEM[K ed25519.PublicKey | ed25519.PrivateKey](b []byte, typ string, parse func([]byte) (any, error)) (K, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != typ {
		return nil, fmt.Errorf("%w: no %s PEM block", ErrInvalidKey, typ)
	}
	k, err := parse(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	key, ok := k.(K)
	if !ok {
		return nil, fmt.Errorf("%w: not an Ed25519 key", ErrInvalidKey)
	}
	return key, nil
}

// Fingerprint returns a short, stable name of a public key (first 16 hex
// characters of its SHA-256) for logs and `licensed pubkey`.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}
