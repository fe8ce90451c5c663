// Package product reads the product file (docs/features.md): the JSON file a
// vendor ships naming its product, the features it knows, the
// pre-authorization, the features of each online license type and the vendor
// keys trusted for activation files. Unknown fields are refused, and every
// error is one line naming the file and the field.
package product

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/signing"
)

// Version is the product file format version this build reads.
const Version = 1

// Bounds of a product file.
const (
	MaxFileBytes   = 1 << 20
	MaxFeatures    = 1024
	MaxTitleBytes  = 256
	MaxTypeBytes   = 256
	MaxVendorKeys  = 64
	MaxLicenseType = 1024
)

// EnvProduct names the environment variable holding the product file path.
const EnvProduct = "LICENSEHOST_PRODUCT"

// File is a parsed, validated product file.
type File struct {
	Path    string // as given to Load; "" after Parse
	Product engine.Product
	// VendorKeys are the keys trusted for activation files, in file order.
	VendorKeys []VendorKey
}

// TrustSet returns the vendor keys as an activation-file trust set.
func (f *File) TrustSet() (actfile.TrustSet, error) {
	ts := actfile.TrustSet{}
	for _, k := range f.VendorKeys {
		if err := ts.Add(k.KID, k.PublicKey); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// VendorKey is one trusted vendor public key.
type VendorKey struct {
	KID       string
	PublicKey ed25519.PublicKey
}

// Error is a bad product file: one line naming the file and the field.
type Error struct {
	Path  string // "" when parsed from bytes
	Field string // JSON path of the bad field, e.g. features[2].name; "" for the whole file
	Msg   string
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("product file")
	if e.Path != "" {
		b.WriteString(" " + e.Path)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrInvalid matches every *Error with errors.Is.
var ErrInvalid = errors.New("invalid product file")

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Load reads and validates the product file at path.
func Load(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Path: path, Msg: "cannot read: " + errMsg(err), Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, &Error{Path: path, Msg: "cannot read: " + errMsg(err), Err: err}
	}
	if len(data) > MaxFileBytes {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("larger than %d bytes", MaxFileBytes)}
	}
	pf, err := Parse(data)
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			pe.Path = path
		}
		return nil, err
	}
	pf.Path = path
	return pf, nil
}

func errMsg(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// wire is the JSON form of a product file.
type wire struct {
	Version      *int                `json:"version"`
	Product      string              `json:"product"`
	Features     []wireFeature       `json:"features"`
	Preauth      *wirePreauth        `json:"preauth"`
	LicenseTypes map[string][]string `json:"licenseTypes"`
	VendorKeys   []wireKey           `json:"vendorKeys"`
}

type wireFeature struct {
	Name  string `json:"name"`
	Title string `json:"title"`
}

type wirePreauth struct {
	Days     json.RawMessage `json:"days"`
	Features []string        `json:"features"`
}

type wireKey struct {
	KID     string `json:"kid"`
	Ed25519 string `json:"ed25519"`
}

// parseDays reads a duration written as a number of days (180, 0.5) or as
// a Go duration string ("36h", "90s"); a string holding a number is days too.
func parseDays(v any) (time.Duration, error) {
	var days float64
	switch x := v.(type) {
	case float64:
		days = x
	case string:
		s := strings.TrimSpace(x)
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			days = f
			break
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is neither a number of days nor a Go duration such as 36h", x)
		}
		return d, nil
	default:
		return 0, fmt.Errorf("want a number of days or a Go duration string")
	}
	if days != days || days > float64(engine.MaxDuration/(24*time.Hour)) || days < -float64(engine.MaxDuration/(24*time.Hour)) {
		return 0, fmt.Errorf("%v days is out of range", days)
	}
	return time.Duration(days * float64(24*time.Hour)), nil
}

// Parse validates a product file's content.
func Parse(data []byte) (*File, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w wire
	if err := dec.Decode(&w); err != nil {
		return nil, jsonError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{Msg: "trailing data after the JSON object"}
	}
	return validate(w)
}

// jsonError turns a decoding error into an *Error naming the field.
func jsonError(data []byte, err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		line, col := position(data, syn.Offset)
		return &Error{Msg: fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, syn.Error()), Err: err}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return &Error{Field: field, Msg: fmt.Sprintf("want %s, got a JSON %s", typ.Type, typ.Value), Err: err}
	case errors.Is(err, io.EOF):
		return &Error{Msg: "empty; want a JSON object", Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Msg: "truncated JSON", Err: err}
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return &Error{Field: strings.Trim(name, `"`), Msg: "unknown field (see docs/features.md for the format)", Err: err}
	}
	return &Error{Msg: strings.TrimPrefix(msg, "json: "), Err: err}
}

func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func validText(s string, max int) bool {
	if len(s) > max || !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

func validate(w wire) (*File, error) {
	bad := func(field, format string, args ...any) error {
		return &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case w.Version == nil:
		return nil, bad("version", "missing; want %d", Version)
	case *w.Version != Version:
		return nil, bad("version", "%d is not supported; this build reads version %d", *w.Version, Version)
	case strings.TrimSpace(w.Product) == "":
		return nil, bad("product", "missing or empty; name the product")
	case !validText(w.Product, engine.MaxProductNameBytes):
		return nil, bad("product", "must be text of at most %d bytes without control characters", engine.MaxProductNameBytes)
	case len(w.Features) > MaxFeatures:
		return nil, bad("features", "%d features, at most %d", len(w.Features), MaxFeatures)
	}
	f := &File{Product: engine.Product{Name: w.Product}}
	known := map[string]bool{}
	for i, ft := range w.Features {
		field := fmt.Sprintf("features[%d]", i)
		switch {
		case !engine.ValidFeatureName(ft.Name):
			return nil, bad(field+".name", "%q is not 1-64 characters of [a-z0-9._-]", ft.Name)
		case known[ft.Name]:
			return nil, bad(field+".name", "%q is listed twice", ft.Name)
		case !validText(ft.Title, MaxTitleBytes):
			return nil, bad(field+".title", "must be text of at most %d bytes without control characters", MaxTitleBytes)
		}
		known[ft.Name] = true
		title := strings.TrimSpace(ft.Title)
		if title == "" {
			title = ft.Name
		}
		f.Product.Features = append(f.Product.Features, engine.Feature{Name: ft.Name, Title: title})
	}
	// names checks a list of feature names: known ones, or "*" when allowed.
	names := func(field string, list []string, star bool) ([]string, error) {
		seen := map[string]bool{}
		var out []string
		for i, n := range list {
			switch {
			case n == engine.AllFeatures && star:
			case n == engine.AllFeatures:
				return nil, bad(fmt.Sprintf("%s[%d]", field, i), `"*" is not allowed here; list the features`)
			case !known[n]:
				return nil, bad(fmt.Sprintf("%s[%d]", field, i), "%q is not one of the features listed under features", n)
			}
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
		return out, nil
	}
	if p := w.Preauth; p != nil {
		var raw any
		if len(p.Days) == 0 || json.Unmarshal(p.Days, &raw) != nil || raw == nil {
			return nil, bad("preauth.days", "missing; want a number of days or a Go duration such as 36h")
		}
		d, err := parseDays(raw)
		switch {
		case err != nil:
			return nil, bad("preauth.days", "%v", err)
		case d <= 0:
			return nil, bad("preauth.days", "must be more than 0 (leave preauth out for none)")
		case d > engine.MaxDuration:
			return nil, bad("preauth.days", "longer than 100 years")
		case len(p.Features) == 0:
			return nil, bad("preauth.features", "missing or empty; list the pre-authorized features")
		}
		list, err := names("preauth.features", p.Features, true)
		if err != nil {
			return nil, err
		}
		f.Product.Preauth = d
		f.Product.PreauthFeatures = list
		if contains(list, engine.AllFeatures) {
			f.Product.PreauthFeatures = nil
			for _, ft := range f.Product.Features {
				f.Product.PreauthFeatures = append(f.Product.PreauthFeatures, ft.Name)
			}
		}
	}
	if len(w.LicenseTypes) > MaxLicenseType {
		return nil, bad("licenseTypes", "%d license types, at most %d", len(w.LicenseTypes), MaxLicenseType)
	}
	if len(w.LicenseTypes) > 0 {
		f.Product.LicenseTypes = map[string][]string{}
	}
	for typ, list := range w.LicenseTypes {
		field := "licenseTypes[" + strconv.Quote(typ) + "]"
		if strings.TrimSpace(typ) == "" || !validText(typ, MaxTypeBytes) {
			return nil, bad(field, "a license type name must be non-empty text of at most %d bytes", MaxTypeBytes)
		}
		out, err := names(field, list, true)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = []string{}
		}
		f.Product.LicenseTypes[typ] = out
	}
	if len(w.VendorKeys) > MaxVendorKeys {
		return nil, bad("vendorKeys", "%d keys, at most %d", len(w.VendorKeys), MaxVendorKeys)
	}
	kids := map[string]bool{}
	for i, k := range w.VendorKeys {
		field := fmt.Sprintf("vendorKeys[%d]", i)
		switch {
		case !actfile.ValidKid(k.KID):
			return nil, bad(field+".kid", "%q is not 1-64 characters of [A-Za-z0-9._-]", k.KID)
		case kids[k.KID]:
			return nil, bad(field+".kid", "%q is listed twice", k.KID)
		}
		pub, err := signing.ParsePublicKey(k.Ed25519)
		if err != nil || strings.HasPrefix(strings.TrimSpace(k.Ed25519), "-----") {
			return nil, bad(field+".ed25519", "want the base64 of a 32-byte Ed25519 public key")
		}
		kids[k.KID] = true
		f.VendorKeys = append(f.VendorKeys, VendorKey{KID: k.KID, PublicKey: pub})
	}
	return f, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
