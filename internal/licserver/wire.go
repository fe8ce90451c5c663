package licserver

import "github.com/licensehost/licensehost/internal/licapi"

// Answer is a client answer — the contract's body, internal/licapi.Answer —
// with the HTTP status it is sent with.
type Answer struct {
	licapi.Answer
	Status int `json:"-"`
	// RetryAfter is sent as the Retry-After header on 429.
	RetryAfter int `json:"-"`
}
