// Package lickey makes and checks licensed's license keys. Stdlib only, so a
// client can reject a mistyped key offline before any network call.
//
// A key is "LH-" followed by 28 characters of Crockford base32 in seven
// groups of four, e.g. "LH-7K3M-Q9D2-XW4H-0B6T-RN8S-PZ5C-VJ1G". It encodes
// 17 bytes: 15 random bytes (120 bits, unguessable) and a big-endian
// CRC-16/CCITT-FALSE of them. Because the CRC covers the whole bit stream and
// every character carries 5 bits, any single mistyped character and any swap
// of two adjacent characters is detected.
package lickey

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Prefix starts every key.
const Prefix = "LH-"

const (
	randomBytes = 15
	crcBytes    = 2
	rawBytes    = randomBytes + crcBytes
	encodedLen  = 28 // base32 of 17 bytes, no padding
	groupLen    = 4
)

// alphabet is Crockford's base32: no I, L, O, U.
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var enc = base32.NewEncoding(alphabet).WithPadding(base32.NoPadding)

// ErrFormat is returned by Parse for a string that is not a key of this
// format (wrong prefix, length or characters).
var ErrFormat = errors.New("lickey: not a licensed key")

// ErrChecksum is returned by Parse for a well-formed key whose checksum does
// not match: almost certainly a typo.
var ErrChecksum = errors.New("lickey: checksum mismatch (mistyped key?)")

// New returns a fresh key read from r (crypto/rand.Reader when nil).
func New(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var raw [rawBytes]byte
	if _, err := io.ReadFull(r, raw[:randomBytes]); err != nil {
		return "", fmt.Errorf("lickey: read random: %w", err)
	}
	c := crc16(raw[:randomBytes])
	raw[randomBytes] = byte(c >> 8)
	raw[randomBytes+1] = byte(c)
	return format(enc.EncodeToString(raw[:])), nil
}

// Parse checks key and returns its canonical form. It accepts lower case,
// missing or misplaced dashes, surrounding spaces, and Crockford's
// look-alikes (O for 0, I and L for 1). It returns ErrFormat or ErrChecksum.
func Parse(key string) (string, error) {
	s := strings.ToUpper(strings.TrimSpace(key))
	if !strings.HasPrefix(s, Prefix) {
		return "", ErrFormat
	}
	s = s[len(Prefix):]
	var b strings.Builder
	b.Grow(encodedLen)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '-', ' ':
			continue
		case 'O':
			c = '0'
		case 'I', 'L':
			c = '1'
		}
		if strings.IndexByte(alphabet, c) < 0 {
			return "", ErrFormat
		}
		if b.Len() == encodedLen {
			return "", ErrFormat
		}
		b.WriteByte(c)
	}
	body := b.String()
	if len(body) != encodedLen {
		return "", ErrFormat
	}
	raw, err := enc.DecodeString(body)
	if err != nil || len(raw) != rawBytes {
		return "", ErrFormat
	}
	// The last character carries 1 data bit and 4 zero bits; insist on the
	// canonical encoding so one key has one spelling.
	if enc.EncodeToString(raw) != body {
		return "", ErrChecksum
	}
	if crc16(raw[:randomBytes]) != uint16(raw[randomBytes])<<8|uint16(raw[randomBytes+1]) {
		return "", ErrChecksum
	}
	return format(body), nil
}

// ValidKeyChecksum reports whether key is a well-formed key of this format
// with a matching checksum. It is false for keys of other formats (such as
// the hosted service's), so a client should apply it only when
// LooksLikeKey(key) is true.
func ValidKeyChecksum(key string) bool {
	_, err := Parse(key)
	return err == nil
}

// LooksLikeKey reports whether key claims this format (starts with "LH-",
// any case), i.e. whether ValidKeyChecksum applies to it.
func LooksLikeKey(key string) bool {
	s := strings.TrimSpace(key)
	return len(s) >= len(Prefix) && strings.EqualFold(s[:len(Prefix)], Prefix)
}

// Mask returns a form of key safe for logs: its first 4 and last 4
// characters around an ellipsis ("LH-7…1G"-style). Short strings are fully
// masked.
func Mask(key string) string {
	if len(key) <= 12 {
		return strings.Repeat("*", len(key))
	}
	return key[:4] + "…" + key[len(key)-4:]
}

func format(body string) string {
	var b strings.Builder
	b.Grow(len(Prefix) + len(body) + len(body)/groupLen)
	b.WriteString(Prefix)
	for i := 0; i < len(body); i += groupLen {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(body[i:min(i+groupLen, len(body))])
	}
	return b.String()
}

// crc16 is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection).
func crc16(p []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range p {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
