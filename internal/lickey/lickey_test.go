package lickey

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCRC16CheckValue(t *testing.T) {
	if got := crc16([]byte("123456789")); got != 0x29B1 {
		t.Fatalf("crc16 check value = %#04x, want 0x29b1", got)
	}
}

func TestNewParseRoundTrip(t *testing.T) {
	for i := range 200 {
		k, err := New(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != len(Prefix)+encodedLen+encodedLen/groupLen-1 {
			t.Fatalf("key %q has length %d", k, len(k))
		}
		got, err := Parse(k)
		if err != nil || got != k {
			t.Fatalf("Parse(%q) = %q, %v", k, got, err)
		}
		if i == 0 {
			// Lenient spellings parse to the canonical key.
			loose := " lh-" + strings.ToLower(strings.ReplaceAll(k[len(Prefix):], "-", "")) + " "
			if got, err := Parse(loose); err != nil || got != k {
				t.Fatalf("Parse(%q) = %q, %v; want %q", loose, got, err, k)
			}
		}
	}
}

func TestDeterministicFromReader(t *testing.T) {
	k, err := New(bytes.NewReader(make([]byte, 15)))
	if err != nil {
		t.Fatal(err)
	}
	if !ValidKeyChecksum(k) || !strings.HasPrefix(k, "LH-0000-0000-") {
		t.Fatalf("zero key %q", k)
	}
	if _, err := New(bytes.NewReader(make([]byte, 3))); err == nil {
		t.Fatal("short reader: want error")
	}
}

// Every single-character substitution and every adjacent swap is detected.
func TestTyposDetected(t *testing.T) {
	for range 20 {
		k, _ := New(nil)
		body := []byte(strings.ReplaceAll(k[len(Prefix):], "-", ""))
		for i := range body {
			for _, c := range []byte(alphabet) {
				if c == body[i] {
					continue
				}
				typo := append([]byte(nil), body...)
				typo[i] = c
				if ValidKeyChecksum(Prefix + string(typo)) {
					t.Fatalf("substitution at %d (%q) of %s not detected", i, c, k)
				}
			}
			if i+1 < len(body) && body[i] != body[i+1] {
				typo := append([]byte(nil), body...)
				typo[i], typo[i+1] = typo[i+1], typo[i]
				if ValidKeyChecksum(Prefix + string(typo)) {
					t.Fatalf("swap at %d of %s not detected", i, k)
				}
			}
		}
	}
}

func TestParseRejects(t *testing.T) {
	k, _ := New(nil)
	cases := map[string]error{
		"":                              ErrFormat,
		"my-abc":                        ErrFormat,
		"LH-":                           ErrFormat,
		k + "A":                         ErrFormat,
		k[:len(k)-1]:                    ErrFormat,
		"LH-" + strings.Repeat("U", 28): ErrFormat, // U is not in the alphabet
	}
	for in, want := range cases {
		if _, err := Parse(in); !errors.Is(err, want) {
			t.Errorf("Parse(%q) err = %v, want %v", in, err, want)
		}
	}
}

func TestLooksLikeAndMask(t *testing.T) {
	if !LooksLikeKey(" lh-abc") || LooksLikeKey("my-key") || LooksLikeKey("L") {
		t.Fatal("LooksLikeKey")
	}
	k, _ := New(nil)
	m := Mask(k)
	if strings.Contains(m, k[5:len(k)-5]) || !strings.HasPrefix(m, "LH-") {
		t.Fatalf("Mask(%q) = %q", k, m)
	}
	if Mask("short") != "*****" {
		t.Fatal(Mask("short"))
	}
}

func ExampleValidKeyChecksum() {
	key, _ := New(bytes.NewReader(make([]byte, 15))) // all-zero randomness, for the example
	fmt.Println(key, ValidKeyChecksum(key))
	fmt.Println(ValidKeyChecksum("LH-0000-0000-0000-0000-0000-0000-0001"))
	// Output:
	// LH-0000-0000-0000-0000-0000-0000-9V1G true
	// false
}
