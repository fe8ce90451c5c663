// Package plugins loads per-license-type quota policies from a policy
// directory and routes each decision to the policy of its license type:
// WebAssembly modules (package plugins/wasm) or go-plugin binaries (package
// plugins/goplugin). Any policy failure (error, timeout, trap, crash,
// malformed answer) falls back to the built-in policy, is logged and
// counted, and every decision names the policy that made it.
//
// The policy directory holds a manifest, policies.json (see Manifest and
// docs/policy-abi.md). A Registry keeps the active Set and swaps in a new
// one on Reload without dropping decisions in flight.
package plugins
