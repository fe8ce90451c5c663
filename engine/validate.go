package engine

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
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
// valid UTF-8 without control characters. It returns ErrInvalidKeyFormat
// otherwise.
func NormalizeLicenseKey(key string) (string, error) {
	key = strings.TrimSpace(key)
	if key == "" || len(key) > MaxLicenseKeyBytes || !utf8.ValidString(key) {
		return "", ErrInvalidKeyFormat
	}
	for _, r := range key {
		if unicode.IsControl(r) {
			return "", ErrInvalidKeyFormat
		}
	}
	return key, nil
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

// validateReason checks a device switch reason.
func validateReason(s string) error {
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
