package signing

import (
	"crypto/ed25519"
	"time"
)

// VerifyStored checks an answer kept verbatim after a live Verify accepted
// it: the signature in header (the value of HeaderSignature) over path,
// machine id, nonce and the exact body, under one of keys. It skips what
// only a live answer can be held to — the nonce being fresh and unused and
// the signed time being near the clock — and returns the signed time, so
// the caller can hold its own records to it (docs/reliability.md).
func VerifyStored(keys []ed25519.PublicKey, path, machineID, nonce, header string, body []byte) (time.Time, error) {
	if path == "" || !validField(path) || !validField(machineID) || !validField(nonce) {
		return time.Time{}, ErrBadInput
	}
	if header == "" {
		return time.Time{}, ErrMissingSignature
	}
	hd, err := parseHeader(header)
	if err != nil {
		return time.Time{}, err
	}
	msg := Message(path, machineID, nonce, hd.t, body)
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, hd.sig) {
			return hd.t, nil
		}
	}
	return time.Time{}, ErrBadSignature
}
