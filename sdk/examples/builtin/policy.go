// Command builtin re-implements the host's built-in rules (docs/engine.md, "Quotas") with the
// SDK. The host's conformance tests run it as WebAssembly and as a go-plugin
// binary to prove that a module decides exactly as the host does.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o builtin.wasm .  # WebAssembly
//	go build -trimpath -o builtin-plugin .                                              # go-plugin
package main

import "github.com/licensehost/licensehost/sdk"

// decide is written as an sdk.DeciderInto, the form a WebAssembly guest runs
// fastest (no copy of the input or the answer); main_plugin.go adapts it.
func decide(in *sdk.Input, out *sdk.Output) { sdk.BuiltinInto(in, out) }
