package actfile

import (
	"bytes"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser: it must never panic, and
// whatever it accepts must come out of Encode and parse again to the same
// payload.
func FuzzParse(f *testing.F) {
	_, vpriv := key(9)
	act := sampleActivation(f, "k1", vpriv)
	req, _ := sampleRequest(f)
	f.Add(act)
	f.Add(req)
	f.Add(sampleReceipt(f))
	f.Add([]byte("-----BEGIN LICENSEHOST ACTIVATION-----\nKid: k\nSignature: AAAA\n\nAAAA\n-----END LICENSEHOST ACTIVATION-----\n"))
	f.Add([]byte("-----BEGIN LICENSEHOST ACTIVATION-----\n"))
	f.Add(bytes.ReplaceAll(act, []byte("\n"), []byte("\r\n")))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Parse(b)
		if err != nil {
			if v != nil {
				t.Fatal("value with error")
			}
			return
		}
		var env Envelope
		switch x := v.(type) {
		case *SignedActivation:
			env = x.Envelope
		case *SignedRequest:
			env = x.Envelope
		case *SignedReceipt:
			env = x.Envelope
		default:
			t.Fatalf("unexpected %T", v)
		}
		again, err := Decode(Encode(env), env.Type)
		if err != nil || !bytes.Equal(again.Payload, env.Payload) || !bytes.Equal(again.Signature, env.Signature) || again.Kid != env.Kid {
			t.Fatalf("re-encoding changed the file: %v", err)
		}
	})
}
