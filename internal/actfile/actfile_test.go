package actfile

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"
)

// key returns a deterministic key pair from a one-byte seed.
func key(b byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

var t0 = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

func sampleRequest(t testing.TB) ([]byte, ed25519.PrivateKey) {
	pub, priv := key(1)
	b, err := SignRequest(Request{MachineID: "server_0123456789abcdef", InstallationKey: EncodeKey(pub),
		Signals: json.RawMessage(`{"cpus":"4"}`), LicenseKey: "LH-7K3M-Q9D2-XW4H-0B6T-RN8S-PZ5C-VJ1G",
		CreatedAt: t0, Nonce: "n1"}, priv)
	if err != nil {
		t.Fatal(err)
	}
	return b, priv
}

func sampleActivation(t testing.TB, kid string, vendor ed25519.PrivateKey) []byte {
	inst, _ := key(1)
	exp := t0.Add(30 * 24 * time.Hour)
	b, err := SignActivation(Activation{
		Serial: "AF-0000-1111-2222-3333", Product: "ACME", LicenseKeyHash: HashKey("LH-X"),
		LicenseKeyHint: "LH-7…VJ1G", LicenseType: "pro", Kind: Formal,
		Features: []Feature{{Name: "data.source"}, {Name: "data.cdc", ExpiresAt: &exp}}, ExpiresAt: &exp,
		CustomField1: "500", CustomField2: "100", Uninstallable: true, Migratable: true,
		MachineID: "server_0123456789abcdef", InstallationKey: EncodeKey(inst), IssuedAt: t0,
	}, kid, vendor)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sampleReceipt(t testing.TB) []byte {
	pub, priv := key(1)
	b, err := SignReceipt(Receipt{Serial: "AF-0000-1111-2222-3333", LicenseKeyHash: HashKey("LH-X"),
		MachineID: "server_0123456789abcdef", InstallationKey: EncodeKey(pub), UninstalledAt: t0}, priv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	vpub, vpriv := key(9)
	trust := TrustSet{}
	if err := trust.Add("2026-a", vpub); err != nil {
		t.Fatal(err)
	}
	f := sampleActivation(t, "2026-a", vpriv)
	a, err := ParseActivation(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(trust); err != nil {
		t.Fatal(err)
	}
	if a.Kid != "2026-a" || a.Kind != Formal || len(a.Features) != 2 || a.Features[0].ExpiresAt != nil ||
		!a.FeatureExpiry(a.Features[0]).Equal(t0.Add(30*24*time.Hour)) || !a.Uninstallable || a.CustomField1 != "500" {
		t.Fatalf("parsed %+v", a)
	}
	if !bytes.Equal(a.Armored(), f) {
		t.Fatal("Armored() differs from the issued file")
	}
	r, _ := sampleRequest(t)
	req, err := ParseRequest(r)
	if err != nil || req.LicenseKey == "" || string(req.Signals) != `{"cpus":"4"}` {
		t.Fatalf("request: %+v %v", req, err)
	}
	rc, err := ParseReceipt(sampleReceipt(t))
	if err != nil || rc.Serial != "AF-0000-1111-2222-3333" {
		t.Fatalf("receipt: %+v %v", rc, err)
	}
	// Parse recognises each kind by its armor.
	for _, b := range [][]byte{f, r, sampleReceipt(t)} {
		if _, err := Parse(b); err != nil {
			t.Fatal(err)
		}
	}
}

// Any PEM reader takes the file apart the same way.
func TestPEMCompatible(t *testing.T) {
	_, vpriv := key(9)
	f := sampleActivation(t, "k1", vpriv)
	blk, rest := pem.Decode(f)
	if blk == nil || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatal("encoding/pem cannot read the file")
	}
	env, err := Decode(f, TypeActivation)
	if err != nil {
		t.Fatal(err)
	}
	if blk.Type != env.Type || blk.Headers["Kid"] != env.Kid || !bytes.Equal(blk.Bytes, env.Payload) ||
		blk.Headers["Signature"] != base64.StdEncoding.EncodeToString(env.Signature) {
		t.Fatal("encoding/pem and Decode disagree")
	}
}

// A file pasted into an e-mail (text around it, CRLF line ends, trailing
// spaces) still parses.
func TestEmailSafe(t *testing.T) {
	vpub, vpriv := key(9)
	f := sampleActivation(t, "k1", vpriv)
	mail := "Hello,\r\n\r\nyour file:\r\n\r\n" + strings.ReplaceAll(string(f), "\n", "  \r\n") + "\r\nRegards\r\n"
	a, err := ParseActivation([]byte(mail))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(TrustSet{"k1": vpub}); err != nil {
		t.Fatal(err)
	}
}

func TestRefusals(t *testing.T) {
	vpub, vpriv := key(9)
	other, _ := key(8)
	good := sampleActivation(t, "k1", vpriv)
	env, _ := Decode(good, TypeActivation)
	// reSign signs a modified payload with the real vendor key: only the
	// JSON-level checks can catch it.
	reSign := func(mod func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(env.Payload, &m); err != nil {
			t.Fatal(err)
		}
		mod(m)
		p, _ := json.Marshal(m)
		return Encode(Envelope{Type: TypeActivation, Kid: "k1", Signature: ed25519.Sign(vpriv, p), Payload: p})
	}
	raw := func(p string) []byte {
		return Encode(Envelope{Type: TypeActivation, Kid: "k1", Signature: ed25519.Sign(vpriv, []byte(p)), Payload: []byte(p)})
	}
	tampered := bytes.Clone(env.Payload)
	tampered[bytes.Index(tampered, []byte(`"500"`))+1] = '9'
	lines := strings.Split(string(good), "\n")
	cases := []struct {
		name  string
		in    []byte
		want  error
		trust TrustSet
	}{
		{"too large", append(bytes.Repeat([]byte(" "), MaxFileSize), good...), ErrTooLarge, nil},
		{"empty", nil, ErrNotArmored, nil},
		{"not armored", []byte(`{"format":"licensehost-activation"}`), ErrNotArmored, nil},
		{"other PEM", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), ErrNotArmored, nil},
		{"a request", func() []byte { b, _ := sampleRequest(t); return b }(), ErrWrongType, nil},
		{"cut", []byte(strings.Join(lines[:len(lines)-3], "\n")), ErrBadArmor, nil},
		{"no signature", []byte(strings.Replace(string(good), "Signature:", "Signatur:", 1)), ErrBadArmor, nil},
		{"no kid", []byte(strings.Replace(string(good), "Kid: k1\n", "", 1)), ErrBadArmor, nil},
		{"bad base64", []byte(strings.Replace(string(good), lines[4], "!!!!"+lines[4][4:], 1)), ErrBadBase64, nil},
		{"bad JSON", raw(`{"format":`), ErrBadJSON, nil},
		{"JSON array", raw(`[1,2]`), ErrBadJSON, nil},
		{"other format", reSign(func(m map[string]any) { m["format"] = FormatReceipt }), ErrBadJSON, nil},
		{"unknown field", reSign(func(m map[string]any) { m["extra"] = 1 }), ErrBadJSON, nil},
		{"trailing data", raw(string(env.Payload) + " {}"), ErrBadJSON, nil},
		{"version 2", reSign(func(m map[string]any) { m["version"] = 2 }), ErrUnknownVersion, nil},
		{"bad kind", reSign(func(m map[string]any) { m["kind"] = "preauth" }), ErrInvalid, nil},
		{"temporary uninstallable", reSign(func(m map[string]any) { m["kind"] = "temporary" }), ErrInvalid, nil},
		{"untrusted kid", good, ErrUntrustedKey, TrustSet{"k2": vpub}},
		{"wrong key under kid", good, ErrBadSignature, TrustSet{"k1": other}},
		{"tampered payload", Encode(Envelope{Type: TypeActivation, Kid: "k1", Signature: env.Signature, Payload: tampered}), ErrBadSignature, TrustSet{"k1": vpub}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := ParseActivation(c.in)
			if err == nil && c.trust != nil {
				err = a.Verify(c.trust)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			// Each refusal is exactly one of the sentinels.
			n := 0
			for _, e := range []error{ErrTooLarge, ErrNotArmored, ErrWrongType, ErrBadArmor, ErrBadBase64,
				ErrBadJSON, ErrUnknownVersion, ErrUntrustedKey, ErrBadSignature, ErrInvalid} {
				if errors.Is(err, e) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%v matches %d sentinels", err, n)
			}
		})
	}
}

// A request or receipt signed by a key other than the one it names is
// refused; so is one whose payload was altered.
func TestSelfSignedFiles(t *testing.T) {
	_, other := key(7)
	pub, _ := key(1)
	if _, err := SignRequest(Request{MachineID: "m", InstallationKey: EncodeKey(pub), CreatedAt: t0, Nonce: "n"}, other); !errors.Is(err, ErrInvalid) {
		t.Fatalf("signing with a foreign key: %v", err)
	}
	r, _ := sampleRequest(t)
	env, _ := Decode(r, TypeRequest)
	p := bytes.Replace(env.Payload, []byte("0123456789abcdef"), []byte("fedcba9876543210"), 1)
	forged := Encode(Envelope{Type: TypeRequest, Signature: env.Signature, Payload: p})
	if _, err := ParseRequest(forged); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("altered request: %v", err)
	}
	// The same installation key signs requests and receipts: a request can
	// never be read as a receipt, even re-armored.
	asReceipt := Encode(Envelope{Type: TypeReceipt, Signature: env.Signature, Payload: env.Payload})
	if _, err := ParseReceipt(asReceipt); !errors.Is(err, ErrBadJSON) {
		t.Fatalf("request as receipt: %v", err)
	}
}

func TestTrustSet(t *testing.T) {
	pub, _ := key(3)
	other, _ := key(4)
	kid, k, err := ParseVendorKey("2026-a=" + EncodeKey(pub))
	if err != nil || kid != "2026-a" || !k.Equal(pub) {
		t.Fatalf("%q %v", kid, err)
	}
	ts := TrustSet{}
	if err := ts.Add(kid, k); err != nil {
		t.Fatal(err)
	}
	if err := ts.Add(kid, k); err != nil {
		t.Fatal("same pair twice:", err)
	}
	if err := ts.Add(kid, other); !errors.Is(err, ErrInvalidVendorKey) {
		t.Fatal("a kid with two keys:", err)
	}
	for _, bad := range []string{"", "nokey", "=" + EncodeKey(pub), "a b=" + EncodeKey(pub), "k=abc", "k=" + EncodeKey(pub)[:20]} {
		if _, _, err := ParseVendorKey(bad); !errors.Is(err, ErrInvalidVendorKey) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestSerial(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, err := NewSerial(nil)
		if err != nil || !ValidSerial(s) || len(s) != 22 || seen[s] {
			t.Fatalf("%q %v", s, err)
		}
		seen[s] = true
	}
}
