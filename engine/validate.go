package engine

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/licensehost/licensehost/internal/lickey"
)

// Input bounds.
const (
	MaxLicenseKeyBytes     = 512
	MaxReasonBytes         = 1024
	MaxIdempotencyKeyBytes = 128
	MaxResourceBytes       = 64
	MaxBatch               = 1 << 40
)

// NormalizeLicenseKey trims surrounding white space (a pasted key often
// carries a newline) and validates the key: not empty, at most 512 bytes,
// valid UTF-8, and every character visible — no control characters, no
// format characters (zero-width spaces and joiners, bidirectional overrides
// such as U+202E, byte order marks), no U+FFFD (what a decoder makes of
// invalid UTF-8), no unassigned or private-use code points, and no space
// other than the ASCII one. Such characters make two different keys look
// alike on screen (docs/engine.md). It returns ErrInvalidKeyFormat otherwise.
func NormalizeLicenseKey(key string) (string, error) {
	key = strings.TrimSpace(key)
	if key == "" || len(key) > MaxLicenseKeyBytes || !utf8.ValidString(key) {
		return "", ErrInvalidKeyFormat
	}
	for _, r := range key {
		if !visibleKeyRune(r) {
			return "", ErrInvalidKeyFormat
		}
	}
	return key, nil
}

// visibleKeyRune reports whether r may appear in a license key.
func visibleKeyRune(r rune) bool {
	switch {
	case r == ' ':
		return true
	case r == utf8.RuneError, unicode.Is(unicode.Zs, r):
		return false
	}
	// IsGraphic: letters, marks, numbers, punctuation, symbols and spaces;
	// not control (Cc), format (Cf), surrogate, private-use or unassigned.
	return unicode.IsGraphic(r)
}

// ValidMachineID reports whether id is "server_" followed by 16 lowercase hex
// characters.
func ValidMachineID(id string) bool {
	const prefix = "server_"
	if len(id) != len(prefix)+16 || !strings.HasPrefix(id, prefix) {
		return false
	}
	for _, c := range id[len(prefix):] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// validateToken checks an idempotency key or resource name: printable ASCII
// without spaces, at most max bytes.
func validateToken(field, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalidRequest, field, max)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%w: %s must be printable ASCII without spaces", ErrInvalidRequest, field)
		}
	}
	return nil
}

// ValidateReason checks a device switch reason: valid UTF-8 of at most
// MaxReasonBytes without control characters but newlines and tabs. The
// tray checks its form with it before it sends anything.
func ValidateReason(s string) error {
	if len(s) > MaxReasonBytes || !utf8.ValidString(s) {
		return fmt.Errorf("%w: reason must be valid text of at most %d bytes", ErrInvalidRequest, MaxReasonBytes)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return fmt.Errorf("%w: reason holds control characters", ErrInvalidRequest)
		}
	}
	return nil
}

// SameLicenseKey reports whether a key named in a server's answer is the key
// that was sent: the same string, the same string ignoring case, or — for
// keys of licensed's format (internal/lickey) — the same canonical key,
// since licensed answers with the canonical spelling of a leniently typed
// key.
func SameLicenseKey(answered, sent string) bool {
	answered, sent = strings.TrimSpace(answered), strings.TrimSpace(sent)
	if answered == sent || strings.EqualFold(answered, sent) {
		return true
	}
	if !lickey.LooksLikeKey(answered) || !lickey.LooksLikeKey(sent) {
		return false
	}
	a, errA := lickey.Parse(answered)
	b, errB := lickey.Parse(sent)
	return errA == nil && errB == nil && a == b
}
