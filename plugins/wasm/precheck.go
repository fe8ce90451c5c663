package wasm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxTableEntries bounds the tables of a module: the sum of the maxima of
// its tables, in entries (8 bytes each in wazero, so 8 MiB an instance).
// wazero lets memory be limited (WithMemoryLimitPages) but not tables, and
// its CompiledModule does not show them; a table with no maximum could grow
// to 2^32 entries (32 GiB) and one may start at 2^27 (1 GiB).
const MaxTableEntries = 1 << 20

// boundTables reads the section headers of a module and, in the table
// section only, each table's type. A table with no maximum (Go's compiler
// declares none) is given its minimum as maximum: it keeps its size and
// table.grow on it fails, as WebAssembly allows. Modules whose tables'
// maxima add up to more than MaxTableEntries, or that use a table form
// beyond the funcref/externref of WebAssembly 2.0, are refused. It returns
// the module with the table section rewritten when a maximum was added.
//
// It is not a validator: it refuses what it does not understand in the
// table section and leaves everything else, and every malformed header, to
// wazero. FuzzBoundTables checks it never panics, and that wazero accepts
// the module it returns exactly when it accepts the original.
//
// Imported tables need no bound: the host provides no table to import, so
// such a module fails to link before wazero allocates anything.
func boundTables(b []byte) ([]byte, error) {
	const magicAndVersion = 8
	if len(b) < magicAndVersion {
		return b, nil // wazero refuses it
	}
	r := reader{b: b, off: magicAndVersion}
	var out []byte // b with the table section replaced, once one is
	var total uint64
	for r.off < len(b) {
		head := r.off
		id := r.byte()
		size := r.u32()
		if r.err != nil || uint64(size) > uint64(len(b)-r.off) {
			return b, nil // a broken header: wazero refuses the module
		}
		end := r.off + int(size)
		if id == sectionTable {
			sec := reader{b: b[:end], off: r.off}
			n := sec.u32()
			content := binary.AppendUvarint(nil, uint64(n))
			for i := uint32(0); i < n && sec.err == nil; i++ {
				var err error
				if content, err = tableType(&sec, i, &total, content); err != nil {
					return nil, fmt.Errorf("%w: %w", ErrTables, err)
				}
			}
			if sec.err != nil || sec.off != end {
				return b, nil // wazero refuses the section
			}
			out = append(out, b[len(out):head]...)
			out = append(out, sectionTable)
			out = binary.AppendUvarint(out, uint64(len(content)))
			out = append(out, content...)
			out = append(out, b[end:]...)
			return out, nil // wazero refuses a second table section
		}
		r.off = end
	}
	return b, nil
}

const sectionTable = 4

// tableType reads one table type (reftype limits) and appends it, with a
// maximum, to dst.
func tableType(r *reader, i uint32, total *uint64, dst []byte) ([]byte, error) {
	ref := r.byte()
	if r.err != nil {
		return dst, nil
	}
	if ref != 0x70 && ref != 0x6f { // funcref, externref
		// 0x40 (a table with an initialiser) and 0x63/0x64 (typed
		// references) are not WebAssembly 2.0.
		return nil, fmt.Errorf("table %d: type 0x%02x is not supported", i, ref)
	}
	flag := r.byte()
	lo := r.u32()
	hi := lo
	switch {
	case r.err != nil:
		return dst, nil
	case flag == 0x01:
		hi = r.u32()
	case flag != 0x00:
		return nil, fmt.Errorf("table %d: limits flag 0x%02x is not supported", i, flag)
	}
	*total += uint64(hi)
	if *total > MaxTableEntries {
		return nil, fmt.Errorf("table %d: maximum %d takes the module's tables past %d entries", i, hi, MaxTableEntries)
	}
	dst = append(dst, ref, 0x01)
	dst = binary.AppendUvarint(dst, uint64(lo))
	return binary.AppendUvarint(dst, uint64(hi)), nil
}

var errTruncated = errors.New("truncated")

// reader reads bytes and LEB128 u32s, decoding them as wazero does (at
// most 5 bytes, the unused bits of the fifth zero), and keeps the first
// error.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.err = errTruncated
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *reader) u32() uint32 {
	var v uint32
	for i := 0; i < 5; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if c < 0x80 {
			if i == 4 && c&0xf0 != 0 {
				r.err = errors.New("LEB128 integer overflows 32 bits")
				return 0
			}
			return v | uint32(c)<<(7*i)
		}
		v |= uint32(c&0x7f) << (7 * i)
	}
	r.err = errors.New("LEB128 integer longer than 5 bytes")
	return 0
}
