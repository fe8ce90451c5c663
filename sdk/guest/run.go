package guest

import "github.com/licensehost/licensehost/sdk"

// This file holds the per-call work of policy_decide, free of build tags so
// that it is tested natively (run_test.go). It is the sdk codec and nothing
// else: sdk.DecodeInput, the policy, sdk.AppendOutput — the same functions
// the host and go-plugin binaries use (docs/policy-abi.md §2), with the
// decoder's memory of the last input (sdk.Decoder): a host deciding many
// requests of one license sends the same strings again and again, and in a
// guest every allocation is dozens of calls, each a return to the host
// (docs/benchmarks-policy.md).

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

// run decides the input of n bytes at offset off of s.in and returns the
// encoded answer, or nil after reporting why it could not.
func (s *state) run(off, n uint64) []byte {
	// The common path is the body of each if: in Go's WebAssembly code a
	// skipped body is a jump through the function's dispatch loop, and
	// wazero checks every loop iteration with a return to the host
	// (docs/benchmarks-policy.md).
	if s.decide != nil && off <= uint64(len(s.in)) && n <= uint64(len(s.in))-off {
		err := s.dec.DecodeInto(s.in[off:off+n], &s.input)
		if err == nil {
			s.answer = sdk.Output{}
			s.decide(&s.input, &s.answer)
			s.out = sdk.AppendOutput(s.out[:0], s.answer)
			return s.out
		}
		s.errOut("policy_decide: " + err.Error())
		return nil
	}
	s.errOut("policy_decide: no policy registered or input outside the policy_alloc buffer")
	return nil
}

// valueDecider adapts a Decider to the DeciderInto form run calls.
func valueDecider(fn sdk.Decider) sdk.DeciderInto {
	return func(in *sdk.Input, out *sdk.Output) { *out = fn(*in) }
}
