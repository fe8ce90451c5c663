// Command builtin re-implements the host's built-in rules (SPEC §5) with the
// SDK. The host's conformance tests run it as WebAssembly and as a go-plugin
// binary to prove that a module decides exactly as the host does.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o builtin.wasm .  # WebAssembly
//	go build -trimpath -o builtin-plugin .                                              # go-plugin
package main

import "github.com/licensehost/licensehost/sdk"

func decide(in sdk.Input) sdk.Output { return sdk.Builtin(in) }
