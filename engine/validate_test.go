package engine_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/licensehost/licensehost/engine"
)

func TestNormalizeLicenseKey(t *testing.T) {
	good := map[string]string{
		"LH-ABCD-EFGH":           "LH-ABCD-EFGH",
		"  my-key\n":             "my-key",
		"密钥-123":                 "密钥-123",
		strings.Repeat("k", 512): strings.Repeat("k", 512),
	}
	for in, want := range good {
		got, err := engine.NormalizeLicenseKey(in)
		if err != nil || got != want {
			t.Errorf("NormalizeLicenseKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "   ", strings.Repeat("k", 513), "ab\x00cd", "ab\x1bcd", "a\nb", "\xff\xfe"} {
		if _, err := engine.NormalizeLicenseKey(bad); !errors.Is(err, engine.ErrInvalidKeyFormat) {
			t.Errorf("NormalizeLicenseKey(%q) = %v, want ErrInvalidKeyFormat", bad, err)
		}
	}
	if engine.ErrInvalidKeyFormat.Error() != "Invalid license key format" {
		t.Fatalf("the user-facing wording changed: %q", engine.ErrInvalidKeyFormat)
	}
}

func FuzzNormalizeLicenseKey(f *testing.F) {
	for _, s := range []string{"LH-ABCD", " x ", "", "\x00", "密钥", strings.Repeat("z", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := engine.NormalizeLicenseKey(in)
		if err != nil {
			if !errors.Is(err, engine.ErrInvalidKeyFormat) {
				t.Fatalf("unexpected error kind %v", err)
			}
			return
		}
		if got == "" || len(got) > engine.MaxLicenseKeyBytes || !utf8.ValidString(got) || got != strings.TrimSpace(got) {
			t.Fatalf("accepted a bad key %q", got)
		}
		for _, r := range got {
			if unicode.IsControl(r) {
				t.Fatalf("accepted a control character in %q", got)
			}
		}
		if again, err := engine.NormalizeLicenseKey(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q, %v", got, again, err)
		}
	})
}

func TestValidMachineID(t *testing.T) {
	for id, want := range map[string]bool{
		"server_0123456789abcdef":  true,
		"server_0123456789ABCDEF":  false,
		"server_0123456789abcde":   false,
		"server_0123456789abcdefa": false,
		"host_0123456789abcdef01":  false,
		"":                         false,
	} {
		if got := engine.ValidMachineID(id); got != want {
			t.Errorf("ValidMachineID(%q) = %v, want %v", id, got, want)
		}
	}
}
