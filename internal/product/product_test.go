package product_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/product"
)

const pubB64 = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

// TestExample loads the documented example in examples/.
func TestExample(t *testing.T) {
	f, err := product.Load(filepath.Join("..", "..", "examples", "product.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := f.Product
	if p.Name != "Integration Platform" || len(p.Features) != 8 || p.Preauth != 180*24*time.Hour {
		t.Fatalf("product = %+v", p)
	}
	if got := p.TypeFeatures("终生赞助版"); len(got) != 8 {
		t.Errorf(`"*" type grants %v`, got)
	}
	if !slices.Equal(p.PreauthFeatures, []string{"data.source", "data.ingest", "data.prep", "data.schedule"}) {
		t.Errorf("preauth features %v", p.PreauthFeatures)
	}
	if len(f.VendorKeys) != 1 || f.VendorKeys[0].KID != "2026-a" || len(f.VendorKeys[0].PublicKey) != 32 {
		t.Errorf("vendor keys %+v", f.VendorKeys)
	}
	ts, err := f.TrustSet()
	if err != nil || len(ts) != 1 || !ts["2026-a"].Equal(f.VendorKeys[0].PublicKey) {
		t.Errorf("TrustSet = %v, %v", ts, err)
	}
}

func TestParseGood(t *testing.T) {
	for name, tc := range map[string]struct {
		json    string
		preauth time.Duration
		pre     []string
	}{
		"minimal":              {`{"version":1,"product":"P"}`, 0, nil},
		"days as a number":     {`{"version":1,"product":"P","features":[{"name":"a"}],"preauth":{"days":0.5,"features":["a"]}}`, 12 * time.Hour, []string{"a"}},
		"days as a string":     {`{"version":1,"product":"P","features":[{"name":"a"}],"preauth":{"days":"180","features":["a"]}}`, 180 * 24 * time.Hour, []string{"a"}},
		"days as Go duration":  {`{"version":1,"product":"P","features":[{"name":"a"}],"preauth":{"days":"90s","features":["a"]}}`, 90 * time.Second, []string{"a"}},
		"preauth of all":       {`{"version":1,"product":"P","features":[{"name":"a"},{"name":"b"}],"preauth":{"days":1,"features":["*"]}}`, 24 * time.Hour, []string{"a", "b"}},
		"duplicates collapsed": {`{"version":1,"product":"P","features":[{"name":"a"}],"preauth":{"days":1,"features":["a","a"]}}`, 24 * time.Hour, []string{"a"}},
	} {
		t.Run(name, func(t *testing.T) {
			f, err := product.Parse([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			if f.Product.Preauth != tc.preauth || !slices.Equal(f.Product.PreauthFeatures, tc.pre) {
				t.Errorf("preauth = %v %v, want %v %v", f.Product.Preauth, f.Product.PreauthFeatures, tc.preauth, tc.pre)
			}
		})
	}
	f, err := product.Parse([]byte(`{"version":1,"product":"P","features":[{"name":"a"}]}`))
	if err != nil || f.Product.Features[0].Title != "a" {
		t.Errorf("a missing title defaults to the name: %+v %v", f, err)
	}
}

// TestParseBad: every bad file is one line naming the field, and matches
// ErrInvalid.
func TestParseBad(t *testing.T) {
	long := strings.Repeat("a", 65)
	for _, tc := range []struct {
		name, json, field, msg string
	}{
		{"empty", ``, "", "empty"},
		{"not an object", `[1]`, "(top level)", "want"},
		{"syntax", "{\"version\":1,\n\"product\": }", "", "line 2"},
		{"truncated", `{"version":1`, "", "truncated"},
		{"trailing", `{"version":1,"product":"P"} {}`, "", "trailing data"},
		{"unknown field", `{"version":1,"product":"P","edition":"x"}`, "edition", "unknown field"},
		{"unknown nested field", `{"version":1,"product":"P","features":[{"name":"a","price":1}]}`, "price", "unknown field"},
		{"no version", `{"product":"P"}`, "version", "missing"},
		{"version 2", `{"version":2,"product":"P"}`, "version", "not supported"},
		{"version as string", `{"version":"1","product":"P"}`, "version", "want int"},
		{"no product", `{"version":1}`, "product", "missing"},
		{"product control chars", `{"version":1,"product":"P\u0007"}`, "product", "control"},
		{"feature name upper", `{"version":1,"product":"P","features":[{"name":"Data"}]}`, "features[0].name", "[a-z0-9._-]"},
		{"feature name too long", `{"version":1,"product":"P","features":[{"name":"` + long + `"}]}`, "features[0].name", "1-64"},
		{"feature name empty", `{"version":1,"product":"P","features":[{"name":"a"},{"title":"x"}]}`, "features[1].name", "1-64"},
		{"feature twice", `{"version":1,"product":"P","features":[{"name":"a"},{"name":"a"}]}`, "features[1].name", "twice"},
		{"feature star", `{"version":1,"product":"P","features":[{"name":"*"}]}`, "features[0].name", "[a-z0-9._-]"},
		{"title control", `{"version":1,"product":"P","features":[{"name":"a","title":"x\ny"}]}`, "features[0].title", "control"},
		{"preauth no days", `{"version":1,"product":"P","features":[{"name":"a"}],"preauth":{"features":["a"]}}`, "preauth.days", "missing"},
		{"preauth zero days", `{"version":1,"product":"P","features":[{"name":"a"}],"preauth":{"days":0,"features":["a"]}}`, "preauth.days", "more than 0"},
		{"preauth negative", `{"version":1,"product":"P","features":[{"name":"a"}],"preauth":{"days":"-5h","features":["a"]}}`, "preauth.days", "more than 0"},
		{"preauth bad duration", `{"version":1,"product":"P","features":[{"name":"a"}],"preauth":{"days":"six months","features":["a"]}}`, "preauth.days", "Go duration"},
		{"preauth NaN", `{"version":1,"product":"P","features":[{"name":"a"}],"preauth":{"days":"NaN","features":["a"]}}`, "preauth.days", "out of range"},
		{"preauth huge", `{"version":1,"product":"P","features":[{"name":"a"}],"preauth":{"days":1e9,"features":["a"]}}`, "preauth.days", "out of range"},
		{"preauth days bool", `{"version":1,"product":"P","features":[{"name":"a"}],"preauth":{"days":true,"features":["a"]}}`, "preauth.days", "number of days"},
		{"preauth no features", `{"version":1,"product":"P","features":[{"name":"a"}],"preauth":{"days":1}}`, "preauth.features", "empty"},
		{"preauth unknown feature", `{"version":1,"product":"P","features":[{"name":"a"}],"preauth":{"days":1,"features":["b"]}}`, "preauth.features[0]", "not one of the features"},
		{"type unknown feature", `{"version":1,"product":"P","features":[{"name":"a"}],"licenseTypes":{"年度版":["a","zz"]}}`, `licenseTypes["年度版"][1]`, "not one of the features"},
		{"type empty name", `{"version":1,"product":"P","licenseTypes":{"":["*"]}}`, `licenseTypes[""]`, "non-empty"},
		{"type not a list", `{"version":1,"product":"P","licenseTypes":{"x":"*"}}`, "licenseTypes", "want []string"},
		{"kid empty", `{"version":1,"product":"P","vendorKeys":[{"ed25519":"` + pubB64 + `"}]}`, "vendorKeys[0].kid", "[A-Za-z0-9._-]"},
		{"kid twice", `{"version":1,"product":"P","vendorKeys":[{"kid":"k","ed25519":"` + pubB64 + `"},{"kid":"k","ed25519":"` + pubB64 + `"}]}`, "vendorKeys[1].kid", "twice"},
		{"key not base64", `{"version":1,"product":"P","vendorKeys":[{"kid":"k","ed25519":"not base64!"}]}`, "vendorKeys[0].ed25519", "32-byte"},
		{"key wrong size", `{"version":1,"product":"P","vendorKeys":[{"kid":"k","ed25519":"AAAA"}]}`, "vendorKeys[0].ed25519", "32-byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := product.Parse([]byte(tc.json))
			var pe *product.Error
			if !errors.As(err, &pe) || !errors.Is(err, product.ErrInvalid) {
				t.Fatalf("err = %v (%T), want a *product.Error", err, err)
			}
			if pe.Field != tc.field || !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("err = %q (field %q), want field %q and %q in the message", err, pe.Field, tc.field, tc.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is more than one line: %q", err)
			}
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "product.json")
	if err := os.WriteFile(path, []byte(`{"version":1,"product":"P","features":[{"name":"Bad"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := product.Load(path)
	want := "product file " + path + `: features[0].name: "Bad" is not 1-64 characters of [a-z0-9._-]`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	_, err = product.Load(filepath.Join(dir, "missing.json"))
	if err == nil || !strings.HasPrefix(err.Error(), "product file "+filepath.Join(dir, "missing.json")+": cannot read: ") || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, product.MaxFileBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := product.Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("big file: %v", err)
	}
	if _, err := product.Load(dir); err == nil || !strings.Contains(err.Error(), "product file "+dir) {
		t.Fatalf("a directory: %v", err)
	}
}

func TestParseDoesNotPanic(t *testing.T) {
	for _, s := range []string{`null`, `{"version":null}`, `{"version":1,"product":"P","preauth":null}`,
		`{"version":1,"product":"P","preauth":{"days":null,"features":["a"]}}`, `{"version":1,"product":"P","features":null,"licenseTypes":null}`,
		`{"version":1,"product":"P","licenseTypes":{"x":null}}`} {
		_, _ = product.Parse([]byte(s))
	}
	f, err := product.Parse([]byte(`{"version":1,"product":"P","licenseTypes":{"x":null}}`))
	if err != nil || f.Product.LicenseTypes["x"] == nil || len(f.Product.TypeFeatures("x")) != 0 {
		t.Errorf("a type mapped to null grants nothing: %+v %v", f, err)
	}
	_ = engine.AllFeatures
}

func FuzzParse(f *testing.F) {
	data, _ := os.ReadFile(filepath.Join("..", "..", "examples", "product.json"))
	f.Add(data)
	f.Add([]byte(`{"version":1,"product":"P","preauth":{"days":"36h","features":["*"]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		pf, err := product.Parse(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		for _, ft := range pf.Product.Features {
			if !engine.ValidFeatureName(ft.Name) {
				t.Fatalf("accepted feature %q", ft.Name)
			}
		}
	})
}
