package actfile

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
)

// MaxFileSize bounds every file this package parses (64 KiB); a real file
// is about 2 KiB.
const MaxFileSize = 64 << 10

// Armor block types (the text after "-----BEGIN ").
const (
	TypeRequest    = "LICENSEHOST ACTIVATION REQUEST"
	TypeActivation = "LICENSEHOST ACTIVATION"
	TypeReceipt    = "LICENSEHOST UNINSTALL RECEIPT"
)

// Armor header names.
const (
	headerKid       = "Kid"
	headerSignature = "Signature"
)

// Envelope is an armored file taken apart, before its payload is decoded:
// the block type, the kid (activation files only), the Ed25519 signature and
// the exact payload bytes the signature covers.
type Envelope struct {
	Type      string
	Kid       string
	Signature []byte
	Payload   []byte
}

// Encode armors env. The output is a PEM block (RFC 7468 layout with
// RFC 1421 style header lines), so any PEM reader can take it apart.
func Encode(env Envelope) []byte {
	h := map[string]string{headerSignature: base64.StdEncoding.EncodeToString(env.Signature)}
	if env.Kid != "" {
		h[headerKid] = env.Kid
	}
	return pem.EncodeToMemory(&pem.Block{Type: env.Type, Headers: h, Bytes: env.Payload})
}

const (
	beginPrefix = "-----BEGIN "
	endPrefix   = "-----END "
	dashes      = "-----"
)

// Decode takes the first licensehost block out of b (text around it, as in
// an e-mail, is ignored; CRLF line ends are accepted) and checks that it is
// of type want. Errors: ErrTooLarge, ErrNotArmored, ErrWrongType,
// ErrBadArmor, ErrBadBase64.
func Decode(b []byte, want string) (Envelope, error) {
	if len(b) > MaxFileSize {
		return Envelope{}, ErrTooLarge
	}
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	start := -1
	var typ string
	for i, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		if strings.HasPrefix(l, beginPrefix+"LICENSEHOST ") && strings.HasSuffix(l, dashes) && len(l) > len(beginPrefix)+len(dashes) {
			start, typ = i, l[len(beginPrefix):len(l)-len(dashes)]
			break
		}
	}
	if start < 0 {
		return Envelope{}, ErrNotArmored
	}
	if typ != want {
		return Envelope{}, fmt.Errorf("%w: this is a %q block, want %q", ErrWrongType, typ, want)
	}
	end := -1
	for i := start + 1; i < len(lines); i++ {
		if strings.TrimRight(lines[i], " \t\r") == endPrefix+typ+dashes {
			end = i
			break
		}
	}
	if end < 0 {
		return Envelope{}, fmt.Errorf("%w: no END line (the file is cut)", ErrBadArmor)
	}
	env := Envelope{Type: typ}
	i := start + 1
	seen := map[string]bool{}
	for ; i < end; i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			i++
			break
		}
		name, val, ok := strings.Cut(l, ":")
		if !ok {
			return Envelope{}, fmt.Errorf("%w: a header line without ':' (or no blank line before the body)", ErrBadArmor)
		}
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if seen[name] {
			return Envelope{}, fmt.Errorf("%w: header %s twice", ErrBadArmor, name)
		}
		seen[name] = true
		switch name {
		case headerKid:
			if !ValidKid(val) {
				return Envelope{}, fmt.Errorf("%w: bad Kid header", ErrBadArmor)
			}
			env.Kid = val
		case headerSignature:
			sig, err := base64.StdEncoding.DecodeString(val)
			if err != nil || len(sig) != ed25519.SignatureSize {
				return Envelope{}, fmt.Errorf("%w: the Signature header is not a base64 64-byte Ed25519 signature", ErrBadArmor)
			}
			env.Signature = sig
		default:
			// Unknown headers are not signed and carry nothing this version
			// needs; later versions may add some.
		}
	}
	if env.Signature == nil {
		return Envelope{}, fmt.Errorf("%w: no Signature header", ErrBadArmor)
	}
	var body bytes.Buffer
	for ; i < end; i++ {
		body.WriteString(strings.TrimSpace(lines[i]))
	}
	p, err := base64.StdEncoding.DecodeString(body.String())
	if err != nil {
		return Envelope{}, fmt.Errorf("%w: %w", ErrBadBase64, err)
	}
	if len(p) == 0 {
		return Envelope{}, fmt.Errorf("%w: empty payload", ErrBadJSON)
	}
	env.Payload = p
	return env, nil
}

// VerifyWith checks env's signature over its payload under pub.
func (env Envelope) VerifyWith(pub ed25519.PublicKey) bool {
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, env.Payload, env.Signature)
}
