//go:build wasip1

// Package guest turns a policy function into a WebAssembly policy module of
// ABI v1. Build a reactor module:
//
//	package main
//
//	import (
//		"github.com/licensehost/licensehost/sdk"
//		"github.com/licensehost/licensehost/sdk/guest"
//	)
//
//	func init() { guest.Register(decide) }
//
//	func decide(in sdk.Input) sdk.Output { return sdk.Builtin(in) }
//
//	func main() {}
//
// and build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o policy.wasm .
//
// Register must run in init: a reactor module never runs main. The module
// exports policy_abi_version, policy_alloc and policy_decide (see
// docs/policy-abi.md). A panic in the policy function ends the module with
// its trace on stderr; the host reports it, discards the instance and
// applies its built-in policy.
package guest

import (
	"unsafe"

	"github.com/licensehost/licensehost/sdk"
)

func init() { g.errOut = stderr }

// Register sets the policy function. Call it from an init function.
func Register(fn sdk.Decider) { g.decide = valueDecider(fn) }

// RegisterInto sets the policy function in the form that copies neither
// the input nor the answer (sdk.DeciderInto). Call it from an init function.
func RegisterInto(fn sdk.DeciderInto) { g.decide = fn }

//go:wasmexport policy_abi_version
func policyABIVersion() uint32 { return sdk.ABIVersion }

// policyAlloc returns a buffer of n bytes for the host to write an input
// into. It stays valid, and the guest does not touch it, until the next
// policy_alloc call, so the host may reuse it for many decisions.
//
//go:wasmexport policy_alloc
func policyAlloc(n uint32) uint32 {
	if cap(g.in) < int(n) || cap(g.in) == 0 {
		g.in = make([]byte, max(n, 256))
	}
	g.in = g.in[:n]
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(g.in))))
}

// stderr writes msg and a newline to file descriptor 2 through WASI
// directly: package os would add 400 KB to every policy module.
func stderr(msg string) {
	b := []byte(msg + "\n")
	iov := [2]uint32{uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))), uint32(len(b))}
	var written uint32
	fdWrite(2, unsafe.Pointer(&iov), 1, unsafe.Pointer(&written))
}

//go:wasmimport wasi_snapshot_preview1 fd_write
//go:noescape
func fdWrite(fd int32, iovs unsafe.Pointer, iovsLen int32, nwritten unsafe.Pointer) int32
