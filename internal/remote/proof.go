package remote

import (
	"crypto/ed25519"
	"fmt"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/signing"
)

// ProofChecker re-checks stored signed answers (engine.Proof) against the
// pinned server keys and parses them as the client parsed them live. It
// implements engine.ProofChecker.
type ProofChecker struct {
	Keys []ed25519.PublicKey
}

var _ engine.ProofChecker = ProofChecker{}

// CheckProof verifies p's signature and returns its signed time and the
// answer it holds.
func (c ProofChecker) CheckProof(p engine.Proof) (engine.ProvenAnswer, error) {
	at, err := signing.VerifyStored(c.Keys, p.Path, p.MachineID, p.Nonce, p.Signature, p.Body)
	if err != nil {
		return engine.ProvenAnswer{}, fmt.Errorf("stored answer: %w", err)
	}
	res, err := ParseResponse(p.HTTPStatus, p.Body)
	if err != nil {
		return engine.ProvenAnswer{}, fmt.Errorf("stored answer: %w", err)
	}
	return engine.ProvenAnswer{SignedAt: at, Result: res}, nil
}
