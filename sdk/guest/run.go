package guest

import (
	"unsafe"

	"github.com/licensehost/licensehost/sdk"
)

// This file holds policy_decide, free of build tags so that it is tested
// natively (run_test.go; outside wasip1 the export directive is ignored).
// It is the sdk codec and nothing else: sdk.DecodeInput, the policy,
// sdk.AppendOutput — the same functions the host and go-plugin binaries use
// (docs/policy-abi.md §2), with the decoder's memory of the last input
// (sdk.Decoder): a host deciding many requests of one license sends the
// same strings again and again, and in a guest every allocation is dozens
// of calls, each a return to the host (docs/benchmarks-policy.md).

// g is the guest's state; guest.go sets its errOut.
var g state

// state is a guest's policy and buffers.
type state struct {
	decide sdk.DeciderInto
	in     []byte // policy_alloc's buffer, owned by the host
	out    []byte // the last answer, valid until the next call
	dec    sdk.Decoder
	input  sdk.Input  // the input being decided (kept here: no allocation)
	answer sdk.Output // the policy's answer
	errOut func(string)
}

// policyDecide decodes the input at ptr (which must lie in the buffer of the
// last policy_alloc), calls the policy and returns ptr<<32|len of the
// encoded output, or 0 after reporting why it could not decide.
//
// It is one function, the whole of policy_decide: in a WebAssembly guest
// built by Go each function call costs three returns to the host's runtime
// (its loop head and the host's entry check before and after), and so does
// a skipped if body, so the common path is the body of each if
// (docs/benchmarks-policy.md). Addresses are taken modulo 2^32: exact in
// wasm's 32-bit memory, and consistent natively for the tests.
//
// No recover: a deferred closure would cost every call. A panic ends the
// module (exit code 2, the trace on stderr); the host reports it, discards
// the instance and applies its built-in policy.
//
//go:wasmexport policy_decide
func policyDecide(ptr, n uint32) uint64 {
	s := &g
	off := uint64(ptr - uint32(uintptr(unsafe.Pointer(unsafe.SliceData(s.in)))))
	if s.decide != nil && off <= uint64(len(s.in)) && uint64(n) <= uint64(len(s.in))-off {
		err := s.dec.DecodeInto(s.in[off:off+uint64(n)], &s.input)
		if err == nil {
			s.answer = sdk.Output{}
			s.decide(&s.input, &s.answer)
			s.out = sdk.AppendOutput(s.out[:0], s.answer)
			return uint64(uint32(uintptr(unsafe.Pointer(unsafe.SliceData(s.out)))))<<32 | uint64(len(s.out))
		}
		s.errOut("policy_decide: " + err.Error())
		return 0
	}
	s.errOut("policy_decide: no policy registered or input outside the policy_alloc buffer")
	return 0
}

// valueDecider adapts a Decider to the DeciderInto form policyDecide calls.
func valueDecider(fn sdk.Decider) sdk.DeciderInto {
	return func(in *sdk.Input, out *sdk.Output) { *out = fn(*in) }
}
