package mask_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/licensehost/licensehost/internal/mask"
)

func TestKeyAndToken(t *testing.T) {
	for _, tc := range []struct {
		fn       func(string) string
		in, want string
	}{
		{mask.Key, "", ""},
		{mask.Key, "a", "****"},
		{mask.Key, "12345678", "****"},
		{mask.Key, "123456789", "1234…6789"},
		{mask.Key, "my-license-key-0001", "my-l…0001"},
		{mask.Key, "密钥密钥密钥密钥密钥", "密钥密钥…密钥密钥"},
		{mask.Token, "", ""},
		{mask.Token, "short", "****"},
		{mask.Token, "1234567890123456", "****"},
		{mask.Token, "12345678901234567", "****…4567"},
		{mask.Token, "eyJhbGciOiJIUzI1NiJ9.payload.sig1", "****…sig1"},
	} {
		if got := tc.fn(tc.in); got != tc.want {
			t.Errorf("%q masked as %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestKeyNeverRevealsWholeKey(t *testing.T) {
	for n := 1; n <= 40; n++ {
		key := strings.Repeat("x", n-1) + "Z"
		if n > 1 {
			key = "A" + key[1:]
		}
		if got := mask.Key(key); strings.Contains(got, key) {
			t.Errorf("Key(%q) = %q reveals the key", key, got)
		}
	}
}

func TestRedact(t *testing.T) {
	key := "ABCD-EFGH-IJKL-MNOP"
	got := mask.Redact("密钥 "+key+" 不存在 ("+key+")", key, "", "ab")
	if strings.Contains(got, key) {
		t.Fatalf("Redact left the key in %q", got)
	}
	if want := "密钥 ABCD…MNOP 不存在 (ABCD…MNOP)"; got != want {
		t.Fatalf("Redact = %q, want %q", got, want)
	}
	if got := mask.Redact("about", "ab"); got != "about" {
		t.Fatalf("short secret redacted: %q", got)
	}
}

func ExampleKey() {
	fmt.Println(mask.Key("my-license-key-0001"))
	fmt.Println(mask.Key("short"))
	// Output:
	// my-l…0001
	// ****
}
