// Package sdk is what a licensehost policy author imports: the policy input
// and output types, their ABI v1 binary encoding, and the built-in rules of
// docs/engine.md ("Quotas") as a function an author can start from or fall back to.
//
// A policy is one function, [Decide]. Build it as WebAssembly with package
// [github.com/licensehost/licensehost/sdk/guest] or as a go-plugin binary
// with package [github.com/licensehost/licensehost/sdk/plugin]; the host
// sends the same [Input] and expects the same [Output] either way.
//
// The package depends on the standard library only, so a wasip1 build stays
// small. The byte layout is documented in docs/policy-abi.md.
package sdk
