package sdk

import (
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"time"
)

// Layout of ABI v1 (all integers little-endian; see docs/policy-abi.md):
//
//	Input:  u8 version | u8 flags | u16 reserved(0) | i64 total | i64 batchLimit |
//	        i64 used | i64 batch | i64 graceLeftNanos | i64 nowUnixNanos |
//	        str licenseType | str status | str customField1 | str customField2 |
//	        str customField3 | str resource | u32 nFeatures | nFeatures × str
//	Output: u8 version | u8 flags | u16 reserved(0) | i64 total | i64 batchLimit |
//	        str reason | str message
//	str:    u32 byteLength | bytes
//
// Input flags: 1 isSponsored, 2 total limited, 4 batch limited.
// Output flags: 1 allowed, 2 total limited, 4 batch limited.
// A limit's i64 is 0 when it is unlimited. nowUnixNanos 0 means no time.
const (
	flagSponsored = 1 << 0 // input
	flagAllowed   = 1 << 0 // output
	flagTotal     = 1 << 1
	flagBatch     = 1 << 2

	inputFixedSize  = 4 + 6*8
	outputFixedSize = 4 + 2*8
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed policy message")

// AppendInput appends the ABI v1 encoding of in to dst.
func AppendInput(dst []byte, in Input) []byte {
	var flags byte
	if in.IsSponsored {
		flags |= flagSponsored
	}
	flags |= limitFlags(in.Limits)
	dst = append(dst, ABIVersion, flags, 0, 0)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(limitValue(in.Limits.Total)))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(limitValue(in.Limits.Batch)))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(in.Used))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(in.Batch))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(in.GraceLeft))
	var now int64
	if !in.Now.IsZero() {
		now = in.Now.UnixNano()
	}
	dst = binary.LittleEndian.AppendUint64(dst, uint64(now))
	dst = appendString(dst, in.LicenseType)
	dst = appendString(dst, in.Status)
	dst = appendString(dst, in.CustomField1)
	dst = appendString(dst, in.CustomField2)
	dst = appendString(dst, in.CustomField3)
	dst = appendString(dst, in.Resource)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(in.Features)))
	for _, f := range in.Features {
		dst = appendString(dst, f)
	}
	return dst
}

// DecodeInput decodes an ABI v1 input. Any malformed, truncated or
// over-long message is an error wrapping ErrMalformed; it never panics.
func DecodeInput(b []byte) (Input, error) {
	var in Input
	err := decodeInto(b, &in, nil)
	return in, err
}

// Decoder decodes inputs like DecodeInput, and when the string part of an
// input (everything after the fixed header) is byte for byte the last
// one's, it reuses the strings and the feature list decoded then: a host
// deciding many requests of one license sends the same strings again and
// again, and in a WebAssembly guest every allocation is dozens of calls.
// The strings are ordinary immutable strings and may be kept; the feature
// list is shared from one input to the next and must not be modified. A
// Decoder is not safe for concurrent use.
type Decoder struct {
	tail []byte // the string part of the last input decoded
	last Input  // its strings and features (the fixed fields are stale)
	ok   bool
}

// Decode decodes an ABI v1 input; see DecodeInput.
func (d *Decoder) Decode(b []byte) (Input, error) {
	var in Input
	err := d.DecodeInto(b, &in)
	return in, err
}

// DecodeInto is Decode writing into *in; on error *in is the zero Input.
func (d *Decoder) DecodeInto(b []byte, in *Input) error { return decodeInto(b, in, d) }

// decodeInto is the one input decoder: the strings from d when it has them
// (d may be nil), the fixed header in place. It is one function, and its
// common path runs through if bodies, for a WebAssembly guest built by Go:
// there every call and every skipped if body is a return to the host's
// runtime (docs/benchmarks-policy.md).
func decodeInto(b []byte, in *Input, d *Decoder) error {
	if headerOK(b, inputFixedSize, inputFlags) {
		// Is the string part the last one's? bytes.Equal, written out here
		// (a call is three returns to the host in a guest) a word at a
		// time: the runtime's memequal compares byte by byte, a loop
		// iteration — a return to the host — a byte. The last 8 bytes,
		// then 32 and 8 at a time from the start: the overlap compares
		// some bytes twice and no loop handles a tail.
		same := false
		if t, u := b[inputFixedSize:], []byte(nil); d != nil && d.ok && len(t) == len(d.tail) {
			u = d.tail
			n := len(t)
			var diff uint64
			if n >= 8 {
				diff = binary.LittleEndian.Uint64(t[n-8:]) ^ binary.LittleEndian.Uint64(u[n-8:])
				for len(t) >= 32 && len(u) >= 32 {
					// ^ and | bind alike in Go: each difference in parentheses.
					diff |= (binary.LittleEndian.Uint64(t) ^ binary.LittleEndian.Uint64(u)) |
						(binary.LittleEndian.Uint64(t[8:]) ^ binary.LittleEndian.Uint64(u[8:])) |
						(binary.LittleEndian.Uint64(t[16:]) ^ binary.LittleEndian.Uint64(u[16:])) |
						(binary.LittleEndian.Uint64(t[24:]) ^ binary.LittleEndian.Uint64(u[24:]))
					t, u = t[32:], u[32:]
				}
				for len(t) >= 8 && len(u) >= 8 {
					diff |= binary.LittleEndian.Uint64(t) ^ binary.LittleEndian.Uint64(u)
					t, u = t[8:], u[8:]
				}
				same = diff == 0
			} else {
				same = string(t) == string(u)
			}
		}
		if same {
			*in = d.last
		} else if err := decodeStrings(b, in); err != nil {
			*in = Input{}
			if d != nil {
				d.ok = false
			}
			return err
		} else if d != nil {
			d.tail = append(d.tail[:0], b[inputFixedSize:]...)
			d.last, d.ok = *in, true
		}
		flags := b[1]
		in.IsSponsored = flags&flagSponsored != 0
		in.Limits.Total = limitAt(flags>>1&1, b[4:12])
		in.Limits.Batch = limitAt(flags>>2&1, b[12:20])
		in.Used = int64(binary.LittleEndian.Uint64(b[20:28]))
		in.Batch = int64(binary.LittleEndian.Uint64(b[28:36]))
		in.GraceLeft = time.Duration(binary.LittleEndian.Uint64(b[36:44]))
		in.Now = time.Time{}
		if now := int64(binary.LittleEndian.Uint64(b[44:52])); now != 0 {
			in.Now = time.Unix(0, now).UTC()
		}
		return nil
	}
	*in = Input{}
	if d != nil {
		d.ok = false
	}
	return headerError(b, inputFixedSize, inputFlags)
}

// decodeStrings decodes the string part of an input whose header is
// checked into in's strings and features; in is left partly written on
// error.
func decodeStrings(b []byte, in *Input) error {
	r := reader{b: b, off: inputFixedSize}
	in.LicenseType = r.str()
	in.Status = r.str()
	in.CustomField1 = r.str()
	in.CustomField2 = r.str()
	in.CustomField3 = r.str()
	in.Resource = r.str()
	in.Features = nil
	n := r.u32()
	if r.err == nil && !r.short && uint64(n) > uint64(len(b)-r.off)/4 {
		r.err = malformed(utoa(uint64(n)), " features do not fit in ", itoa(int64(len(b)-r.off)), " bytes")
	}
	if r.err == nil && !r.short && n > 0 {
		in.Features = make([]string, n)
		for i := range in.Features {
			in.Features[i] = r.str()
		}
	}
	return r.done()
}

// AppendOutput appends the ABI v1 encoding of out to dst. It writes into
// dst's spare capacity when there is enough (a guest reuses one buffer), a
// field at a time, with as few branches and calls as it can (see
// headerOK).
func AppendOutput(dst []byte, out Output) []byte {
	var flags byte
	if out.Allowed {
		flags = flagAllowed
	}
	flags |= limitFlags(out.Limits)
	off, n := len(dst), outputFixedSize+8+len(out.Reason)+len(out.Message)
	dst = slices.Grow(dst, n)[:off+n]
	b := dst[off:]
	b[0], b[1], b[2], b[3] = ABIVersion, flags, 0, 0
	binary.LittleEndian.PutUint64(b[4:12], uint64(limitValue(out.Limits.Total)))
	binary.LittleEndian.PutUint64(b[12:20], uint64(limitValue(out.Limits.Batch)))
	b = putString(b[20:], out.Reason)
	putString(b, out.Message)
	return dst
}

// putString writes s as a str at the start of b, which has room for it, and
// returns the rest of b. An empty s costs no call to the runtime's memmove.
func putString(b []byte, s string) []byte {
	binary.LittleEndian.PutUint32(b[:4], uint32(len(s)))
	if len(s) > 0 {
		copy(b[4:], s)
	}
	return b[4+len(s):]
}

// DecodeOutput decodes an ABI v1 output. Any malformed, truncated or
// over-long message is an error wrapping ErrMalformed; it never panics.
func DecodeOutput(b []byte) (Output, error) {
	var out Output
	flags, err := header(b, outputFixedSize, flagAllowed|flagTotal|flagBatch)
	if err != nil {
		return out, err
	}
	out.Allowed = flags&flagAllowed != 0
	out.Limits = decodeLimits(flags, b[4:])
	r := reader{b: b, off: outputFixedSize}
	out.Reason = r.str()
	out.Message = r.str()
	if err := r.done(); err != nil {
		return Output{}, err
	}
	return out, nil
}

// inputFlags are the flags an input may carry.
const inputFlags = flagSponsored | flagTotal | flagBatch

// headerOK reports whether b holds a valid fixed header of the given size
// (the version, no unknown flag, zero reserved bytes); small enough to be
// inlined, with one branch: a WebAssembly guest pays for every call and
// every branch taken.
func headerOK(b []byte, fixed int, known byte) bool {
	return len(b) >= fixed && len(b) >= 4 && uint32(b[0]^ABIVersion)|uint32(b[1]&^known)|uint32(b[2])|uint32(b[3]) == 0
}

func header(b []byte, fixed int, known byte) (flags byte, err error) {
	if headerOK(b, fixed, known) {
		return b[1], nil
	}
	return 0, headerError(b, fixed, known)
}

func headerError(b []byte, fixed int, known byte) error {
	switch {
	case len(b) < fixed:
		return malformed(itoa(int64(len(b))), " bytes, want at least ", itoa(int64(fixed)))
	case b[0] != ABIVersion:
		return malformed("ABI version ", itoa(int64(b[0])), ", want ", itoa(ABIVersion))
	case b[1]&^known != 0:
		return malformed("unknown flags 0x", strconv.FormatUint(uint64(b[1]&^known), 16))
	default:
		return malformed("reserved bytes are not zero")
	}
}

func limitFlags(l Limits) (f byte) {
	if l.Total.Limited {
		f = flagTotal
	}
	if l.Batch.Limited {
		f |= flagBatch
	}
	return f
}

func limitValue(l Limit) int64 {
	if !l.Limited {
		return 0
	}
	return l.N
}

// decodeLimits decodes the two limits at b by flags: a limit whose flag is
// clear is unlimited, its value ignored.
func decodeLimits(flags byte, b []byte) Limits {
	return Limits{Total: limitAt(flags>>1&1, b[0:8]), Batch: limitAt(flags>>2&1, b[8:16])}
}

// limitAt decodes the limit at b, limited when limited is 1, without a
// branch (see headerOK).
func limitAt(limited byte, b []byte) Limit {
	mask := -int64(limited) // all ones when limited
	return Limit{N: int64(binary.LittleEndian.Uint64(b)) & mask, Limited: mask != 0}
}

func appendString(dst []byte, s string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// reader reads length-prefixed fields and remembers the first error.
type reader struct {
	b     []byte
	off   int
	err   error
	short bool // a length prefix was truncated
}

// u32 is small enough to inline: a guest pays for every call it makes.
func (r *reader) u32() uint32 {
	if len(r.b)-r.off < 4 {
		r.short = true
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}

func (r *reader) str() string {
	n := r.u32()
	if r.err != nil || r.short {
		return ""
	}
	if uint64(n) > uint64(len(r.b)-r.off) {
		r.err = malformed("string of ", utoa(uint64(n)), " bytes at byte ", itoa(int64(r.off-4)), " overruns the message")
		return ""
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s
}

func (r *reader) done() error {
	if r.err == nil && r.short {
		r.err = malformed("truncated at byte ", itoa(int64(r.off)))
	}
	if r.err == nil && r.off != len(r.b) {
		r.err = malformed(itoa(int64(len(r.b)-r.off)), " trailing bytes")
	}
	return r.err
}

// MalformedError describes why a message could not be decoded. It wraps
// ErrMalformed.
type MalformedError struct{ Detail string }

func (e *MalformedError) Error() string { return ErrMalformed.Error() + ": " + e.Detail }

// Unwrap returns ErrMalformed.
func (e *MalformedError) Unwrap() error { return ErrMalformed }

func malformed(parts ...string) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = append(b, p...)
	}
	return &MalformedError{Detail: string(b)}
}

func utoa(n uint64) string { return strconv.FormatUint(n, 10) }
