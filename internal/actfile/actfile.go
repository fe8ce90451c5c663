// Package actfile owns the formats of the offline-activation files (see
// docs/activation-files.md): the request a host writes, the activation file
// a license server issues from it, and the uninstall receipt a host writes
// when it gives a license back. It parses (bounded, one distinct error per
// kind of bad input), signs and verifies them; it also holds the set of
// vendor keys a host trusts, by kid.
//
// Every file is an armored PEM-style block whose headers carry the Ed25519
// signature (and, for an activation file, the kid of the vendor key) and
// whose body is the base64 of a JSON payload. The signature covers the
// exact payload bytes; the payload's "format" field says what the payload
// is, so a request can never pass for a receipt signed by the same key.
//
// Stdlib only, so licensed and the host share it without weight.
package actfile

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Payload format names and the one version this package knows.
const (
	FormatRequest    = "licensehost-activation-request"
	FormatActivation = "licensehost-activation"
	FormatReceipt    = "licensehost-uninstall-receipt"
	Version          = 1
)

// Kind is the kind of license an activation file grants.
type Kind string

// Kinds. Pre-authorization is never in a file.
const (
	Temporary Kind = "temporary"
	Formal    Kind = "formal"
)

// ParseKind accepts "temporary" or "formal".
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case Temporary, Formal:
		return Kind(s), nil
	}
	return "", fmt.Errorf("%w: kind %q (want temporary or formal)", ErrInvalid, s)
}

// Bounds of fields.
const (
	MaxFeatures   = 256
	maxFieldLen   = 512
	maxSignalsLen = 16 << 10
)

// Request is what a host sends to the vendor: who it is. It holds no
// secret but the license key when the user gave one.
type Request struct {
	Format          string          `json:"format"`
	Version         int             `json:"version"`
	MachineID       string          `json:"machineId"`
	InstallationKey string          `json:"installationKey"` // base64 raw 32-byte Ed25519 public key
	Signals         json.RawMessage `json:"signals,omitempty"`
	LicenseKey      string          `json:"licenseKey,omitempty"`
	CreatedAt       time.Time       `json:"createdAt"`
	Nonce           string          `json:"nonce"`
}

// Feature is one licensed feature with its own expiry (nil = never).
type Feature struct {
	Name      string     `json:"name"`
	ExpiresAt *time.Time `json:"expiresAt"`
}

// Activation is the payload of an activation file.
type Activation struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Serial  string `json:"serial"`
	Product string `json:"product,omitempty"`
	// LicenseKeyHash is the hex SHA-256 of the canonical license key: the
	// vendor can find the key from it, the file does not carry the key.
	LicenseKeyHash         string     `json:"licenseKeyHash"`
	LicenseKeyHint         string     `json:"licenseKeyHint"` // masked: first 4 and last 4 characters
	LicenseType            string     `json:"licenseType"`
	LicenseTypeDisplayName string     `json:"licenseTypeDisplayName,omitempty"`
	Kind                   Kind       `json:"kind"`
	Features               []Feature  `json:"features"`
	ExpiresAt              *time.Time `json:"expiresAt"`    // nil = never
	CustomField1           string     `json:"customField1"` // total quota; "" = unlimited
	CustomField2           string     `json:"customField2"` // batch quota; "" = unlimited
	CustomField3           string     `json:"customField3"`
	Uninstallable          bool       `json:"uninstallable"`
	Migratable             bool       `json:"migratable"`
	MachineID              string     `json:"machineId"`
	InstallationKey        string     `json:"installationKey"`
	IssuedAt               time.Time  `json:"issuedAt"`
}

// Receipt is the payload of an uninstall receipt: proof, signed by the
// installation key, that the installation removed the file and banned its
// serial.
type Receipt struct {
	Format          string    `json:"format"`
	Version         int       `json:"version"`
	Serial          string    `json:"serial"`
	LicenseKeyHash  string    `json:"licenseKeyHash"`
	MachineID       string    `json:"machineId"`
	InstallationKey string    `json:"installationKey"`
	UninstalledAt   time.Time `json:"uninstalledAt"`
}

// HashKey returns the licenseKeyHash of a canonical license key.
func HashKey(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

var serialEnc = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// NewSerial returns a fresh serial, "AF-" and four groups of four Crockford
// base32 characters (80 random bits), read from r (crypto/rand when nil).
func NewSerial(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [10]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("actfile: serial: %w", err)
	}
	s := serialEnc.EncodeToString(b[:])
	return "AF-" + s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16], nil
}

// ValidSerial reports whether s can be a serial: 4 to 64 characters of
// A-Z, 0-9 and '-'. (Serials from other issuers need not follow NewSerial.)
func ValidSerial(s string) bool {
	if len(s) < 4 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ValidKid reports whether s can be a kid: 1 to 64 characters of
// A-Z a-z 0-9 '.' '_' '-'.
func ValidKid(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validText(s string, allowEmpty bool) bool {
	if s == "" {
		return allowEmpty
	}
	if len(s) > maxFieldLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// ValidFeatureName reports whether name is 1–64 characters of [a-z0-9._-],
// the host's rule for feature names (engine.ValidFeatureName; kept equal by
// a test in the host's activation package).
func ValidFeatureName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// EncodeKey returns the base64 (std, padded) form of a raw public key.
func EncodeKey(pub ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(pub) }

// DecodeKey decodes an installationKey field.
func DecodeKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: installationKey is not a base64 32-byte Ed25519 key", ErrInvalid)
	}
	return ed25519.PublicKey(b), nil
}

func checkMachine(machineID, key string) error {
	if !validText(machineID, false) {
		return fmt.Errorf("%w: machineId", ErrInvalid)
	}
	_, err := DecodeKey(key)
	return err
}

// Validate checks r's fields.
func (r *Request) Validate() error {
	if err := checkMachine(r.MachineID, r.InstallationKey); err != nil {
		return err
	}
	if !validText(r.LicenseKey, true) {
		return fmt.Errorf("%w: licenseKey", ErrInvalid)
	}
	if len(r.Signals) > maxSignalsLen {
		return fmt.Errorf("%w: signals too large", ErrInvalid)
	}
	if r.CreatedAt.IsZero() || !validText(r.Nonce, false) {
		return fmt.Errorf("%w: createdAt and nonce are required", ErrInvalid)
	}
	return nil
}

// Validate checks a's fields.
func (a *Activation) Validate() error {
	switch {
	case !ValidSerial(a.Serial):
		return fmt.Errorf("%w: serial", ErrInvalid)
	case a.Kind != Temporary && a.Kind != Formal:
		return fmt.Errorf("%w: kind %q", ErrInvalid, a.Kind)
	case a.Kind == Temporary && (a.Uninstallable || a.Migratable):
		return fmt.Errorf("%w: a temporary license can be neither uninstalled nor migrated", ErrInvalid)
	case len(a.LicenseKeyHash) != 64:
		return fmt.Errorf("%w: licenseKeyHash", ErrInvalid)
	case !validText(a.LicenseType, false):
		return fmt.Errorf("%w: licenseType", ErrInvalid)
	case !validText(a.LicenseKeyHint, true) || !validText(a.Product, true) || !validText(a.LicenseTypeDisplayName, true) ||
		!validText(a.CustomField1, true) || !validText(a.CustomField2, true) || !validText(a.CustomField3, true):
		return fmt.Errorf("%w: a text field is too long or holds control characters", ErrInvalid)
	case len(a.Features) > MaxFeatures:
		return fmt.Errorf("%w: more than %d features", ErrInvalid, MaxFeatures)
	case a.IssuedAt.IsZero():
		return fmt.Errorf("%w: issuedAt", ErrInvalid)
	}
	for _, f := range a.Features {
		if !ValidFeatureName(f.Name) {
			return fmt.Errorf("%w: feature name %q", ErrInvalid, f.Name)
		}
	}
	return checkMachine(a.MachineID, a.InstallationKey)
}

// Validate checks r's fields.
func (r *Receipt) Validate() error {
	switch {
	case !ValidSerial(r.Serial):
		return fmt.Errorf("%w: serial", ErrInvalid)
	case len(r.LicenseKeyHash) != 64:
		return fmt.Errorf("%w: licenseKeyHash", ErrInvalid)
	case r.UninstalledAt.IsZero():
		return fmt.Errorf("%w: uninstalledAt", ErrInvalid)
	}
	return checkMachine(r.MachineID, r.InstallationKey)
}

// FeatureExpiry returns the expiry of feature f: its own, else the file's.
func (a *Activation) FeatureExpiry(f Feature) *time.Time {
	if f.ExpiresAt != nil {
		return f.ExpiresAt
	}
	return a.ExpiresAt
}

// decodePayload decodes a payload of format want into v: ErrBadJSON for
// anything but one JSON object of that format with known fields only,
// ErrUnknownVersion for a version other than Version.
func decodePayload(p []byte, want string, v any) error {
	var probe struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(p, &probe); err != nil {
		return fmt.Errorf("%w: %w", ErrBadJSON, err)
	}
	if probe.Format != want {
		return fmt.Errorf("%w: format %q, want %q", ErrBadJSON, probe.Format, want)
	}
	if probe.Version != Version {
		return fmt.Errorf("%w: %d (this program reads version %d)", ErrUnknownVersion, probe.Version, Version)
	}
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrBadJSON, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: data after the JSON object", ErrBadJSON)
	}
	return nil
}

func sign(typ, kid string, priv ed25519.PrivateKey, v any) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key size", ErrInvalid)
	}
	p, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("actfile: %w", err)
	}
	if len(p)*4/3+1024 > MaxFileSize {
		return nil, fmt.Errorf("%w: payload too large", ErrInvalid)
	}
	return Encode(Envelope{Type: typ, Kid: kid, Signature: ed25519.Sign(priv, p), Payload: p}), nil
}

// SignRequest fills r's format and version, validates r, checks that priv
// is the key r names, and returns the armored request.
func SignRequest(r Request, priv ed25519.PrivateKey) ([]byte, error) {
	r.Format, r.Version = FormatRequest, Version
	return signSelf(TypeRequest, &r, r.InstallationKey, priv)
}

// SignReceipt is SignRequest for a receipt.
func SignReceipt(r Receipt, priv ed25519.PrivateKey) ([]byte, error) {
	r.Format, r.Version = FormatReceipt, Version
	return signSelf(TypeReceipt, &r, r.InstallationKey, priv)
}

// signSelf validates payload, checks that priv is the installation key
// pubB64 the payload names, and returns the armored block of kind typ.
func signSelf(typ string, payload interface{ Validate() error }, pubB64 string, priv ed25519.PrivateKey) ([]byte, error) {
	if err := payload.Validate(); err != nil {
		return nil, err
	}
	if err := ownKey(pubB64, priv); err != nil {
		return nil, err
	}
	return sign(typ, "", priv, payload)
}

// SignActivation fills a's format and version, validates a, and returns the
// armored activation file signed by priv under kid.
func SignActivation(a Activation, kid string, priv ed25519.PrivateKey) ([]byte, error) {
	a.Format, a.Version = FormatActivation, Version
	if !ValidKid(kid) {
		return nil, fmt.Errorf("%w: kid %q", ErrInvalid, kid)
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return sign(TypeActivation, kid, priv, a)
}

func ownKey(pubB64 string, priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: private key size", ErrInvalid)
	}
	if EncodeKey(priv.Public().(ed25519.PublicKey)) != pubB64 {
		return fmt.Errorf("%w: installationKey is not the signing key's public part", ErrInvalid)
	}
	return nil
}

// SignedRequest is a parsed request whose signature verified under the
// installation key it names.
type SignedRequest struct {
	Request
	Envelope Envelope
}

// ParseRequest parses an armored request and verifies its signature under
// the installation key it carries (ErrBadSignature otherwise).
func ParseRequest(b []byte) (*SignedRequest, error) {
	s := &SignedRequest{}
	env, err := parseSelfSigned(b, TypeRequest, FormatRequest, &s.Request, &s.InstallationKey)
	if err != nil {
		return nil, err
	}
	s.Envelope = env
	return s, nil
}

// SignedReceipt is a parsed receipt whose signature verified under the
// installation key it names. Whether that key is the one the serial was
// issued to is the issuer's check.
type SignedReceipt struct {
	Receipt
	Envelope Envelope
}

// ParseReceipt parses an armored receipt and verifies its signature under
// the installation key it carries.
func ParseReceipt(b []byte) (*SignedReceipt, error) {
	s := &SignedReceipt{}
	env, err := parseSelfSigned(b, TypeReceipt, FormatReceipt, &s.Receipt, &s.InstallationKey)
	if err != nil {
		return nil, err
	}
	s.Envelope = env
	return s, nil
}

// parseSelfSigned decodes an armored block of kind typ into payload (of
// format), validates it, and verifies the block's signature under the
// installation key the payload names (*key, read after decoding): the way
// requests and receipts, which the installation signs itself, are read.
func parseSelfSigned(b []byte, typ, format string, payload interface{ Validate() error }, key *string) (Envelope, error) {
	env, err := Decode(b, typ)
	if err != nil {
		return Envelope{}, err
	}
	if err := decodePayload(env.Payload, format, payload); err != nil {
		return Envelope{}, err
	}
	if err := payload.Validate(); err != nil {
		return Envelope{}, err
	}
	pub, _ := DecodeKey(*key)
	if !env.VerifyWith(pub) {
		return Envelope{}, ErrBadSignature
	}
	return env, nil
}

// SignedActivation is a parsed activation file. Its signature is NOT yet
// checked: call Verify with the trust set.
type SignedActivation struct {
	Activation
	Kid      string
	Envelope Envelope
}

// ParseActivation parses an armored activation file (format only; see
// Verify).
func ParseActivation(b []byte) (*SignedActivation, error) {
	env, err := Decode(b, TypeActivation)
	if err != nil {
		return nil, err
	}
	if env.Kid == "" {
		return nil, fmt.Errorf("%w: no Kid header", ErrBadArmor)
	}
	s := &SignedActivation{Kid: env.Kid, Envelope: env}
	if err := decodePayload(env.Payload, FormatActivation, &s.Activation); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Verify checks the signature under the trust set: ErrUntrustedKey when the
// kid is not trusted, ErrBadSignature when the signature does not verify
// under the trusted key of that kid.
func (s *SignedActivation) Verify(trust TrustSet) error {
	pub, ok := trust[s.Kid]
	if !ok {
		return fmt.Errorf("%w: kid %q is not trusted here", ErrUntrustedKey, s.Kid)
	}
	if !s.Envelope.VerifyWith(pub) {
		return ErrBadSignature
	}
	return nil
}

// Armored returns the file in its canonical armored form (what a host
// stores and shows again).
func (s *SignedActivation) Armored() []byte { return Encode(s.Envelope) }

// Parse decodes any of the three kinds, recognised by its armor type. It
// is what FuzzParse exercises and what a tool uses to identify a file.
func Parse(b []byte) (any, error) {
	if len(b) > MaxFileSize {
		return nil, ErrTooLarge
	}
	for _, t := range []struct {
		typ string
		fn  func([]byte) (any, error)
	}{
		{TypeRequest, func(b []byte) (any, error) { return ParseRequest(b) }},
		{TypeReceipt, func(b []byte) (any, error) { return ParseReceipt(b) }},
		{TypeActivation, func(b []byte) (any, error) { return ParseActivation(b) }},
	} {
		v, err := t.fn(b)
		if errors.Is(err, ErrWrongType) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return v, nil
	}
	return nil, ErrNotArmored
}
