package actfile

import "errors"

// Sentinels returned (wrapped) by the parsers and verifiers. Each is a
// distinct refusal with its own plain message; callers branch on them to
// choose an HTTP status or an exit code and to word the error.
var (
	// ErrTooLarge: the input is over MaxFileSize bytes.
	ErrTooLarge = errors.New("file is too large (over 64 KiB): not an activation file")
	// ErrNotArmored: no "-----BEGIN LICENSEHOST …-----" block of the
	// expected kind was found.
	ErrNotArmored = errors.New("not an armored licensehost file")
	// ErrWrongType: an armored block of another kind (a request where an
	// activation file was expected, …).
	ErrWrongType = errors.New("wrong kind of licensehost file")
	// ErrBadArmor: the block is cut or its header lines are malformed.
	ErrBadArmor = errors.New("damaged file: malformed armor")
	// ErrBadBase64: the body of the block is not valid base64.
	ErrBadBase64 = errors.New("damaged file: the body is not valid base64")
	// ErrBadJSON: the decoded payload is not the JSON of its format.
	ErrBadJSON = errors.New("damaged file: the payload is not valid JSON of this format")
	// ErrUnknownVersion: a format version this program does not know.
	ErrUnknownVersion = errors.New("unknown file format version")
	// ErrUntrustedKey: the file names a kid that is not in the trust set.
	ErrUntrustedKey = errors.New("not signed by a trusted vendor key")
	// ErrBadSignature: the signature does not verify: the file was altered
	// after signing (or signed by another key under the same kid).
	ErrBadSignature = errors.New("damaged file: the signature does not verify")
	// ErrInvalid: a field value is out of range (bad kid, serial, kind,
	// machine code, key size, …) when building or after parsing.
	ErrInvalid = errors.New("invalid field")
	// ErrInvalidVendorKey: a --vendor-key or product-file key is malformed.
	ErrInvalidVendorKey = errors.New("invalid vendor key")
)
