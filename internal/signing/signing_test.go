package signing

import (
	"crypto/ed25519"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

const path = "/api/license/verify"

// responseVerifier is internal/remote's ResponseVerifier hook, restated so
// this package does not import the client.
type responseVerifier interface {
	NewNonce() (string, error)
	Verify(path, machineID, nonce string, h http.Header, body []byte) error
}

var _ responseVerifier = (*Verifier)(nil)

type fixture struct {
	pub   ed25519.PublicKey
	priv  ed25519.PrivateKey
	clock *fakeClock
	v     *Verifier
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pub, priv, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &fakeClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	v, err := NewVerifier(VerifierConfig{PublicKeys: []ed25519.PublicKey{pub}, Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{pub, priv, c, v}
}

// answer signs body as the server would for machine m and nonce n.
func (f *fixture) answer(m, n string, at time.Time, body []byte) http.Header {
	h := http.Header{}
	h.Set(HeaderSignature, Sign(f.priv, path, m, n, at, body))
	return h
}

var body = []byte(`{"success":true,"message":"密钥验证成功","license":{"customField1":"500"}}`)

func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	n, err := f.v.NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	h := f.answer("server_0123456789abcdef", n, f.clock.Now(), body)
	if !strings.HasPrefix(h.Get(HeaderSignature), "v1;t=") {
		t.Fatalf("header %q", h.Get(HeaderSignature))
	}
	if err := f.v.Verify(path, "server_0123456789abcdef", n, h, body); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestRejections(t *testing.T) {
	const m = "server_0123456789abcdef"
	_, otherPriv, _ := GenerateKey(nil)
	cases := []struct {
		name string
		run  func(f *fixture, n string) error
		want error
	}{
		{"tampered body", func(f *fixture, n string) error {
			h := f.answer(m, n, f.clock.Now(), body)
			return f.v.Verify(path, m, n, h, []byte(strings.Replace(string(body), "500", "900", 1)))
		}, ErrBadSignature},
		{"wrong key", func(f *fixture, n string) error {
			h := http.Header{}
			h.Set(HeaderSignature, Sign(otherPriv, path, m, n, f.clock.Now(), body))
			return f.v.Verify(path, m, n, h, body)
		}, ErrBadSignature},
		{"other machine", func(f *fixture, n string) error {
			return f.v.Verify(path, m, n, f.answer("server_ffffffffffffffff", n, f.clock.Now(), body), body)
		}, ErrBadSignature},
		{"other path", func(f *fixture, n string) error {
			return f.v.Verify("/api/license/switch-device", m, n, f.answer(m, n, f.clock.Now(), body), body)
		}, ErrBadSignature},
		{"answer to another nonce", func(f *fixture, n string) error {
			old, _ := f.v.NewNonce()
			return f.v.Verify(path, m, n, f.answer(m, old, f.clock.Now(), body), body)
		}, ErrBadSignature},
		{"replayed", func(f *fixture, n string) error {
			h := f.answer(m, n, f.clock.Now(), body)
			if err := f.v.Verify(path, m, n, h, body); err != nil {
				t.Fatalf("first Verify: %v", err)
			}
			return f.v.Verify(path, m, n, h, body)
		}, ErrReplayed},
		{"nonce never issued", func(f *fixture, n string) error {
			return f.v.Verify(path, m, "made-up", f.answer(m, "made-up", f.clock.Now(), body), body)
		}, ErrUnknownNonce},
		{"stale: signed too long ago", func(f *fixture, n string) error {
			return f.v.Verify(path, m, n, f.answer(m, n, f.clock.Now().Add(-6*time.Minute), body), body)
		}, ErrStale},
		{"stale: signed in the future", func(f *fixture, n string) error {
			return f.v.Verify(path, m, n, f.answer(m, n, f.clock.Now().Add(6*time.Minute), body), body)
		}, ErrStale},
		{"nonce expired before the answer came", func(f *fixture, n string) error {
			f.clock.Add(6 * time.Minute)
			return f.v.Verify(path, m, n, f.answer(m, n, f.clock.Now(), body), body)
		}, ErrUnknownNonce},
		{"missing header", func(f *fixture, n string) error {
			return f.v.Verify(path, m, n, http.Header{}, body)
		}, ErrMissingSignature},
		{"malformed header", func(f *fixture, n string) error {
			h := http.Header{}
			h.Set(HeaderSignature, "v1;t=abc;sig=zz")
			return f.v.Verify(path, m, n, h, body)
		}, ErrMalformedSignature},
		{"unknown version", func(f *fixture, n string) error {
			h := http.Header{}
			h.Set(HeaderSignature, "v2;t=1;sig=AAAA")
			return f.v.Verify(path, m, n, h, body)
		}, ErrUnsupportedVersion},
		{"two headers", func(f *fixture, n string) error {
			h := f.answer(m, n, f.clock.Now(), body)
			h.Add(HeaderSignature, h.Get(HeaderSignature))
			return f.v.Verify(path, m, n, h, body)
		}, ErrMalformedSignature},
		{"newline in machine id", func(f *fixture, n string) error {
			return f.v.Verify(path, m+"\nx", n, f.answer(m+"\nx", n, f.clock.Now(), body), body)
		}, ErrBadInput},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			n, err := f.v.NewNonce()
			if err != nil {
				t.Fatal(err)
			}
			err = tc.run(f, n)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// Skew within the bound is accepted both ways.
func TestSkewWithinBound(t *testing.T) {
	for _, d := range []time.Duration{-4 * time.Minute, 4 * time.Minute} {
		f := newFixture(t)
		n, _ := f.v.NewNonce()
		if err := f.v.Verify(path, "m", n, f.answer("m", n, f.clock.Now().Add(d), body), body); err != nil {
			t.Fatalf("skew %s: %v", d, err)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	pub2, priv2, _ := GenerateKey(nil)
	v, err := NewVerifier(VerifierConfig{PublicKeys: []ed25519.PublicKey{f.pub, pub2}, Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := v.NewNonce()
	h := http.Header{}
	h.Set(HeaderSignature, Sign(priv2, path, "m", n, f.clock.Now(), body))
	if err := v.Verify(path, "m", n, h, body); err != nil {
		t.Fatal(err)
	}
}

func TestNonceMemoryBounded(t *testing.T) {
	f := newFixture(t)
	v, _ := NewVerifier(VerifierConfig{PublicKeys: []ed25519.PublicKey{f.pub}, Clock: f.clock, MaxNonces: 8})
	var first string
	for i := range 100 {
		n, err := v.NewNonce()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = n
		}
	}
	v.mu.Lock()
	size := len(v.issued) + len(v.used)
	v.mu.Unlock()
	if size > 8 {
		t.Fatalf("remembered %d nonces, max 8", size)
	}
	if err := v.Verify(path, "m", first, f.answer("m", first, f.clock.Now(), body), body); !errors.Is(err, ErrUnknownNonce) {
		t.Fatalf("evicted nonce: err = %v", err)
	}
	// Time-based pruning empties the maps.
	f.clock.Add(11 * time.Minute)
	n, _ := v.NewNonce()
	v.mu.Lock()
	size = len(v.issued) + len(v.used)
	v.mu.Unlock()
	if size != 1 {
		t.Fatalf("after 11 min remembered %d nonces, want 1", size)
	}
	_ = n
}

func TestKeyEncodings(t *testing.T) {
	pub, priv, _ := GenerateKey(nil)
	got, err := ParsePublicKey(EncodePublicKey(pub))
	if err != nil || !got.Equal(pub) {
		t.Fatalf("base64 round trip: %v", err)
	}
	p, err := MarshalPublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ParsePublicKey(string(p)); err != nil || !got.Equal(pub) {
		t.Fatalf("PEM round trip: %v", err)
	}
	sp, err := MarshalPrivateKeyPEM(priv)
	if err != nil {
		t.Fatal(err)
	}
	gotPriv, err := ParsePrivateKeyPEM(sp)
	if err != nil || !gotPriv.Equal(priv) {
		t.Fatalf("private PEM round trip: %v", err)
	}
	for _, bad := range []string{"", "not base64!", "AAAA", string(sp)} {
		if _, err := ParsePublicKey(bad); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ParsePublicKey(%.20q) err = %v", bad, err)
		}
	}
	if _, err := NewVerifier(VerifierConfig{}); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("NewVerifier without key: %v", err)
	}
	if len(Fingerprint(pub)) != 16 {
		t.Fatal("fingerprint length")
	}
}

func TestMessageIsCanonical(t *testing.T) {
	got := string(Message("/p", "m", "n", time.Unix(42, 0), []byte("")))
	want := "licensehost-sig-v1\n/p\nm\nn\n42\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got != want {
		t.Fatalf("Message = %q\nwant      %q", got, want)
	}
}

func BenchmarkSign(b *testing.B) {
	_, priv, _ := GenerateKey(nil)
	now := time.Now()
	for b.Loop() {
		Sign(priv, path, "server_0123456789abcdef", "nonce", now, body)
	}
}

func BenchmarkVerify(b *testing.B) {
	pub, priv, _ := GenerateKey(nil)
	v, _ := NewVerifier(VerifierConfig{PublicKeys: []ed25519.PublicKey{pub}})
	for b.Loop() {
		n, _ := v.NewNonce()
		h := http.Header{}
		h.Set(HeaderSignature, Sign(priv, path, "m", n, time.Now(), body))
		if err := v.Verify(path, "m", n, h, body); err != nil {
			b.Fatal(err)
		}
	}
}
