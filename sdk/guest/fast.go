package guest

import (
	"encoding/binary"
	"time"
	"unsafe"

	"github.com/licensehost/licensehost/sdk"
)

// This file holds the per-call work of policy_decide, free of build tags so
// that it is tested natively (fast_test.go).
//
// Why it is written the way it is: Go compiled to WebAssembly is slow where
// native Go is fast. Each function call is a round of stack bookkeeping in
// linear memory (~5 ns); every struct copy over 16 bytes or zeroing over 32
// is a memory.copy or memory.fill, which wazero turns into calls to the
// host's memmove (~7–20 ns each); a division by a constant becomes a chain
// of 32-bit multiplications; every taken branch jumps back to the head of
// the loop Go wraps each function in (and passes the host's fuel
// checkpoint there, docs/policy-abi.md). So the common path below is one
// function with few taken jumps and no struct copies but one: a host
// deciding many requests for the same license sends the same strings again
// and again, so the string part of the input is compared with the last
// input's in one pass of word loads and, when equal, the strings decoded
// last time are reused as they are; fields are written in place; conditions
// are folded into integers (Go compiles a simple if/else of scalars to a
// branch-free select); the answer is encoded with word stores; rare cases
// (a changed string part, growing a buffer, an error) call out of line.
// docs/benchmarks-policy.md measures each step.

// Sizes of the ABI v1 fixed parts (docs/policy-abi.md).
const (
	inputFixed  = 52
	outputFixed = 20
	minTail     = 6*4 + 4 // six empty strings and an empty feature list
	maxQuick    = 128     // longest string part compared without a loop
)

// state is a guest's policy and buffers.
type state struct {
	decide  sdk.DeciderInto
	byValue bool       // decide is a Decider, which gets its own copy of the input
	ans     sdk.Output // the policy's answer, written in place
	in      []byte     // policy_alloc's buffer, owned by the host
	out     []byte     // the last answer, valid until the next call
	errOut  func(string)

	dec     sdk.Decoder
	last    sdk.Input  // the last input decoded; handed to the policy by value
	valid   bool       // last holds a decoded input and tail its string part
	tail    []byte     // the bytes after the fixed header of the last input; never under 8 bytes (diffQuick)
	feats   []string   // last.Features as decoded: the policy shares the array
	scratch sdk.Input  // the policy's copy of last
	enc     sdk.Output // the answer encoded in out
}

// run decides the input of n bytes at offset off of s.in and returns the
// encoded answer, or nil after reporting why it could not.
func (s *state) run(off, n uint64) []byte {
	c := uint64(cap(s.in))
	if b2u(s.decide == nil)|b2u(off > c)|b2u(n > c-off) != 0 {
		s.fail("policy_decide: no policy registered or input outside the policy_alloc buffer", nil)
		return nil
	}
	b := s.in[off : off+n : off+n]
	// The quick path: a valid header and the string part of the last input.
	x := uint64(1)
	if len(b) >= inputFixed+minTail {
		t := b[inputFixed:]
		x = b2u(!s.valid) | b2u(len(t) != len(s.tail)) | b2u(len(t) > maxQuick) |
			uint64(b[0]^sdk.ABIVersion) | uint64(b[1]&^7) | uint64(b[2]) | uint64(b[3]) |
			diffQuick(t, s.tail)
	}
	if x != 0 && !s.slow(b) {
		return nil
	}
	if len(s.feats) != 0 {
		// Undo whatever the policy wrote into the shared feature array.
		copy(s.last.Features, s.feats)
	}
	in := &s.last
	f := b[1]
	in.IsSponsored = f&1 != 0
	in.Limits.Total.Limited = f&2 != 0
	in.Limits.Batch.Limited = f&4 != 0
	// A limit's value is 0 when it is unlimited (as sdk.DecodeInput).
	in.Limits.Total.N = int64(binary.LittleEndian.Uint64(b[4:12])) & -int64(f>>1&1)
	in.Limits.Batch.N = int64(binary.LittleEndian.Uint64(b[12:20])) & -int64(f>>2&1)
	in.Used = int64(binary.LittleEndian.Uint64(b[20:28]))
	in.Batch = int64(binary.LittleEndian.Uint64(b[28:36]))
	in.GraceLeft = time.Duration(binary.LittleEndian.Uint64(b[36:44]))
	now := int64(binary.LittleEndian.Uint64(b[44:52]))
	setUnixUTC(&in.Now, now)
	if !timeLayoutOK {
		in.Now = unixUTCSlow(now)
	}

	out := &s.ans
	out.Allowed, out.Reason, out.Message = false, "", ""
	out.Limits.Total, out.Limits.Batch = sdk.Limit{}, sdk.Limit{}
	// The policy gets a copy (one memmove), so whatever it writes to its
	// input cannot reach the next call's; a Decider copies it anyway.
	if !s.byValue {
		s.scratch = *in
		in = &s.scratch
	}
	s.decide(in, out)

	// Most answers are the last one again (the same license and limits, an
	// allowed request): then its encoding, still in s.out, stands.
	if sameAnswer(out, &s.enc) && len(s.out) != 0 {
		return s.out
	}
	s.enc.Allowed, s.enc.Reason, s.enc.Message = out.Allowed, out.Reason, out.Message
	s.enc.Limits.Total, s.enc.Limits.Batch = out.Limits.Total, out.Limits.Batch
	need := outputFixed + 4 + len(out.Reason) + 4 + len(out.Message)
	if cap(s.out) < need {
		s.out = make([]byte, 0, max(need, 256))
	}
	o := s.out[:need]
	flags := uint32(b2u(out.Allowed)) | uint32(b2u(out.Limits.Total.Limited))<<1 | uint32(b2u(out.Limits.Batch.Limited))<<2
	// Word stores, without bounds checks (need fits o): WebAssembly is
	// little-endian, as the ABI; fast_test.go runs this natively only where
	// the machine is too.
	p := unsafe.Pointer(unsafe.SliceData(o))
	*(*uint32)(p) = sdk.ABIVersion | flags<<8
	*(*uint64)(unsafe.Add(p, 4)) = uint64(out.Limits.Total.N) & -uint64(flags>>1&1)
	*(*uint64)(unsafe.Add(p, 12)) = uint64(out.Limits.Batch.N) & -uint64(flags>>2&1)
	*(*uint32)(unsafe.Add(p, 20)) = uint32(len(out.Reason))
	r := 24 + len(out.Reason)
	copy(o[24:r], out.Reason)
	*(*uint32)(unsafe.Add(p, r)) = uint32(len(out.Message))
	copy(o[r+4:], out.Message)
	s.out = o
	return o
}

// valueDecider adapts a Decider: the policy gets its own copy of the input.
func valueDecider(fn sdk.Decider) sdk.DeciderInto {
	return func(in *sdk.Input, out *sdk.Output) { *out = fn(*in) }
}

// slow decodes b with sdk.Decoder, the strict decoder, and remembers it;
// a string part longer than diffQuick compares is compared here first. It
// reports whether b is a valid input.
func (s *state) slow(b []byte) bool {
	if s.valid && len(b) >= inputFixed+minTail && b[0] == sdk.ABIVersion && b[1]&^7 == 0 && b[2]|b[3] == 0 &&
		diffLong(b[inputFixed:], s.tail) == 0 {
		return true
	}
	in, err := s.dec.Decode(b)
	if err != nil {
		s.valid = false
		s.fail("policy_decide: ", err)
		return false
	}
	s.last, s.valid = in, true
	s.tail = append(s.tail[:0], b[inputFixed:]...)
	s.feats = append(s.feats[:0], in.Features...)
	return true
}

func (s *state) fail(msg string, err error) {
	if err != nil {
		msg += err.Error()
	}
	if s.errOut != nil {
		s.errOut(msg)
	}
}

// sameAnswer reports whether a is b, its strings the same memory (Go strings
// are immutable: the same memory holds the same bytes), without a branch.
func sameAnswer(a, b *sdk.Output) bool {
	x := b2u(a.Allowed != b.Allowed) | b2u(a.Limits.Total != b.Limits.Total) | b2u(a.Limits.Batch != b.Limits.Batch) |
		uint64(uintptr(unsafe.Pointer(unsafe.StringData(a.Reason)))^uintptr(unsafe.Pointer(unsafe.StringData(b.Reason)))) |
		uint64(len(a.Reason)^len(b.Reason)) |
		uint64(uintptr(unsafe.Pointer(unsafe.StringData(a.Message)))^uintptr(unsafe.Pointer(unsafe.StringData(b.Message)))) |
		uint64(len(a.Message)^len(b.Message))
	return x == 0
}

// b2u is 1 for true; Go compiles it to a select, without a branch.
func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// word is the 8 bytes at p+off.
func word(p unsafe.Pointer, off int) uint64 { return *(*uint64)(unsafe.Add(p, off)) }

// diffQuick is zero when the first bytes of a and b agree, with no loop
// nor branch: sixteen 8-byte words, one every 8 bytes, the ones past the
// shorter of the two moved back to its last 8 (overlapping); it covers all
// of them up to maxQuick bytes. Both hold at least 8 bytes.
func diffQuick(a, b []byte) uint64 {
	// n = min(len(a), len(b), maxQuick) without branches (Go would branch:
	// n is part of load addresses).
	n := len(a)
	d := n - len(b)
	n -= d & ^(d >> 63)
	d = n - maxQuick
	n -= d & ^(d >> 63)
	pa, pb := unsafe.Pointer(unsafe.SliceData(a)), unsafe.Pointer(unsafe.SliceData(b))
	step := n - 8 // words at 0, 8, 16, … up to step, the last one at step
	x := word(pa, 0) ^ word(pb, 0)
	x |= word(pa, at(8, step)) ^ word(pb, at(8, step))
	x |= word(pa, at(16, step)) ^ word(pb, at(16, step))
	x |= word(pa, at(24, step)) ^ word(pb, at(24, step))
	x |= word(pa, at(32, step)) ^ word(pb, at(32, step))
	x |= word(pa, at(40, step)) ^ word(pb, at(40, step))
	x |= word(pa, at(48, step)) ^ word(pb, at(48, step))
	x |= word(pa, at(56, step)) ^ word(pb, at(56, step))
	if n <= 64 { // the usual string part: eight words cover it
		return x
	}
	x |= word(pa, at(64, step)) ^ word(pb, at(64, step))
	x |= word(pa, at(72, step)) ^ word(pb, at(72, step))
	x |= word(pa, at(80, step)) ^ word(pb, at(80, step))
	x |= word(pa, at(88, step)) ^ word(pb, at(88, step))
	x |= word(pa, at(96, step)) ^ word(pb, at(96, step))
	x |= word(pa, at(104, step)) ^ word(pb, at(104, step))
	x |= word(pa, at(112, step)) ^ word(pb, at(112, step))
	x |= word(pa, at(120, step)) ^ word(pb, at(120, step))
	return x
}

// at is min(off, step) without a branch (nor a division, which Go's wasm
// backend makes a long chain of instructions).
func at(off, step int) int {
	d := off - step
	return off - d&^(d>>63)
}

// diffLong is zero when a and b hold the same bytes.
func diffLong(a, b []byte) uint64 {
	if len(a) != len(b) {
		return 1
	}
	var x uint64
	i := 0
	for ; i+8 <= len(a); i += 8 {
		x |= binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:])
	}
	for ; i < len(a); i++ {
		x |= uint64(a[i] ^ b[i])
	}
	return x
}

// unixUTC is time.Unix(0, now).UTC(), or the zero Time for 0, as
// sdk.DecodeInput reads the now field, without a branch. It is right only
// when timeLayoutOK; unixUTCSlow is the same through package time.
func unixUTC(now int64) (t time.Time) {
	setUnixUTC(&t, now)
	return t
}

// setUnixUTC is *t = unixUTC(now), written in place: returning a 24-byte
// struct costs a guest a memmove call.
func setUnixUTC(t *time.Time, now int64) {
	sec, nsec := now/1e9, now%1e9
	neg := nsec >> 63 // -1 when nsec < 0
	sec, nsec = sec+neg, nsec+1e9&neg
	set := -int64(b2u(now != 0))
	r := (*timeRep)(unsafe.Pointer(t))
	r.wall, r.ext, r.loc = uint64(nsec&set), (sec+unixToInternal)&set, nil
}

func unixUTCSlow(now int64) time.Time {
	if now == 0 {
		return time.Time{}
	}
	return time.Unix(0, now).UTC()
}

// timeRep is the layout of a time.Time without a monotonic reading: wall
// holds the nanoseconds, ext the seconds since year 1, and a nil location
// means UTC.
type timeRep struct {
	wall uint64
	ext  int64
	loc  *time.Location
}

const unixToInternal = (1969*365 + 1969/4 - 1969/100 + 1969/400) * 86400

// timeLayoutOK says whether timeRep matches time.Time, checked once against
// time.Unix for a few instants: should a Go release change time.Time,
// unixUTC falls back to time.Unix.
var timeLayoutOK = func() bool {
	if unsafe.Sizeof(timeRep{}) != unsafe.Sizeof(time.Time{}) {
		return false
	}
	for _, now := range []int64{1, 999_999_999, 1e9, 1_700_000_000_123_456_789, -1, -1e9 - 1, 1<<63 - 1, -1 << 63} {
		want := time.Unix(0, now).UTC()
		sec, nsec := now/1e9, now%1e9
		if nsec < 0 {
			sec, nsec = sec-1, nsec+1e9
		}
		t := timeRep{wall: uint64(nsec), ext: sec + unixToInternal}
		if got := *(*time.Time)(unsafe.Pointer(&t)); got != want || !got.Equal(want) || got.Location() != time.UTC {
			return false
		}
	}
	return true
}()
