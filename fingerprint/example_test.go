package fingerprint_test

import (
	"fmt"

	"github.com/licensehost/licensehost/fingerprint"
)

// The machine-code algorithm (docs/fingerprint.md) on fixed signals: the
// keys are sorted, the map is serialised as
//
//	{"arch":"amd64","cpu_count":"8","kernel":"6.1","platform":"linux"}
//
// and the first 16 hex characters of its SHA-256 follow "server_".
func ExampleCodeFor() {
	code := fingerprint.CodeFor(map[string]string{
		"platform":  "linux",
		"arch":      "amd64",
		"cpu_count": "8",
		"kernel":    "6.1",
	})
	fmt.Println(code, fingerprint.Valid(code))
	// Output: server_bbb25d43f3fb7ad1 true
}
