package wasm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// The timeout sandbox is fuel metering compiled into the guest: meter
// rewrites a module so that it counts down a fuel global at the head of every
// loop and at the entry of every function that calls another, and calls the
// host's yield function each time the count runs out. The host reads the
// clock only in yield, so a call that finishes within one slice of fuel costs
// a few instructions per loop iteration and nothing else: no goroutine, no
// timer and no exit from native code (wazero's WithCloseOnContextDone pays
// for both on every call). A runaway guest comes back to Go at every slice,
// where it can be preempted (by the scheduler or a stop-the-world) and is
// stopped once its time is up. docs/policy-abi.md describes what a guest sees.
//
// Supported: the WebAssembly 2.0 core features wazero compiles by default
// (MVP, sign extension, saturating conversions, bulk memory, reference types,
// multi-value, SIMD). Anything else (threads, tail calls, exceptions, GC,
// multi-memory, relaxed SIMD) is refused with errMeter.

// Names meter adds to a module.
const (
	meterModule = "licensehost"      // import module of the yield function
	meterYield  = "yield"            // () -> (), called when fuel runs out
	meterFuel   = "licensehost_fuel" // exported mutable i32 global
)

// meterSlice is the fuel of one slice: the host resets the global to it
// before every call, and the guest after every yield. A unit of fuel is one
// instruction of the region (function body or loop body) being entered, so
// a slice is at most this many instructions between two returns to Go
// (docs/benchmarks-policy.md measures how long that is).
const meterSlice = 1 << 20

// maxTableSize bounds a table's initial size: the memory page limit does not
// cover tables, which every instance allocates (8 bytes an entry). Go-built
// modules have a few thousand entries.
const maxTableSize = 1 << 20

// maxLocals bounds a function's locals: the compiler allocates them from the
// declared count (as browsers do, 50 000 is far beyond any real function).
const maxLocals = 50000

// maxRegionWeight caps what one checkpoint charges, so fuel never wraps.
const maxRegionWeight = 1 << 16

var errMeter = errors.New("cannot add the timeout sandbox")

const wasmMagic = "\x00asm\x01\x00\x00\x00"

// Section ids, and the order of the non-custom ones in a module.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

func sectionRank(id byte) int {
	switch id {
	case secDataCount:
		return 10 // between element and code
	case secCode:
		return 11
	case secData:
		return 12
	}
	return int(id)
}

type section struct {
	id   byte
	body []byte
}

// meter returns module with fuel checkpoints and the yield import added,
// or an error wrapping errMeter when module uses something it cannot
// rewrite. Malformed modules get an error here or from the compiler.
func meter(module []byte) (out []byte, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w: %w", errMeter, err)
		}
	}()
	if len(module) < len(wasmMagic) || string(module[:len(wasmMagic)]) != wasmMagic {
		return nil, errors.New("not a WebAssembly 1.0 binary module")
	}
	r := &reader{b: module, off: len(wasmMagic)}
	var secs []section
	seen := map[byte]bool{}
	lastRank := 0
	for r.off < len(r.b) {
		id := r.byte()
		body := r.bytes(int(r.u32()))
		if r.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, r.err)
		}
		if id > secDataCount {
			return nil, fmt.Errorf("unknown section id %d", id)
		}
		if id != secCustom {
			if seen[id] || sectionRank(id) < lastRank {
				return nil, fmt.Errorf("section %d duplicated or out of order", id)
			}
			seen[id], lastRank = true, sectionRank(id)
		}
		secs = append(secs, section{id, body})
	}
	if err := checkCounts(secs); err != nil {
		return nil, err
	}
	// The sections meter appends to must exist: insert empty ones in order.
	for _, id := range []byte{secType, secImport, secGlobal, secExport} {
		if seen[id] {
			continue
		}
		at := len(secs)
		for i, s := range secs {
			if s.id != secCustom && sectionRank(s.id) > sectionRank(id) {
				at = i
				break
			}
		}
		secs = append(secs[:at], append([]section{{id, []byte{0}}}, secs[at:]...)...)
	}

	m := &meterer{}
	// First pass: the counts that fix the new indices.
	for _, s := range secs {
		r := &reader{b: s.body}
		switch s.id {
		case secType:
			m.types = r.u32()
		case secImport:
			if err := m.scanImports(r); err != nil {
				return nil, err
			}
		case secGlobal:
			m.globals += r.u32()
		}
		if r.err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, r.err)
		}
	}
	m.yield = m.importedFuncs // appended after every imported function
	m.fuel = m.globals        // appended after every global

	w := &writer{b: make([]byte, 0, len(module)+len(module)/8)}
	w.raw([]byte(wasmMagic))
	for _, s := range secs {
		body, keep, err := m.section(s)
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, err)
		}
		if !keep {
			continue
		}
		w.byte(s.id)
		w.u32(uint32(len(body)))
		w.raw(body)
	}
	return w.b, nil
}

// checkCounts refuses a vector section that declares more entries than it
// has bytes (each takes at least one): the compiler sizes its tables by the
// declared count, so a few bytes could otherwise ask it for gigabytes.
func checkCounts(secs []section) error {
	dataLen := -1
	for _, s := range secs {
		if s.id == secData {
			dataLen = len(s.body)
		}
	}
	for _, s := range secs {
		if s.id == secCustom || s.id == secStart {
			continue
		}
		r := &reader{b: s.body}
		n := r.u32()
		limit := len(s.body)
		if s.id == secDataCount {
			limit = max(dataLen, 0)
		}
		if r.err != nil {
			return fmt.Errorf("section %d: %w", s.id, r.err)
		}
		if uint64(n) > uint64(limit) {
			return fmt.Errorf("section %d declares %d entries in %d bytes", s.id, n, limit)
		}
	}
	return nil
}

type meterer struct {
	types         uint32 // type count before meter's
	importedFuncs uint32
	globals       uint32 // imported + defined
	yield         uint32 // function index of the yield import
	fuel          uint32 // global index of the fuel counter
}

func (m *meterer) scanImports(r *reader) error {
	n := r.count()
	for range n {
		mod, name := r.name(), r.name()
		switch kind := r.byte(); kind {
		case 0x00: // function
			r.u32()
			m.importedFuncs++
		case 0x01: // table
			r.byte()
			if n := r.limits(); n > maxTableSize {
				return fmt.Errorf("import %s.%s: a table of %d entries exceeds %d", mod, name, n, maxTableSize)
			}
		case 0x02: // memory
			r.limits()
		case 0x03: // global
			r.byte()
			r.byte()
			m.globals++
		default:
			return fmt.Errorf("import %s.%s of unsupported kind 0x%02x", mod, name, kind)
		}
		if r.err != nil {
			return r.err
		}
		if mod == meterModule && name == meterYield {
			return fmt.Errorf("the module already imports %s.%s", mod, name)
		}
	}
	return r.err
}

// fn maps a function index of the original module to the metered one.
func (m *meterer) fn(i uint32) uint32 {
	if i >= m.importedFuncs {
		return i + 1
	}
	return i
}

// section rewrites one section; keep is false for one to drop.
func (m *meterer) section(s section) (body []byte, keep bool, err error) {
	r := &reader{b: s.body}
	w := &writer{}
	switch s.id {
	case secType:
		n := r.count()
		w.u32(n + 1)
		start := r.off
		for range n {
			if form := r.byte(); form != 0x60 && r.err == nil {
				return nil, false, fmt.Errorf("type of form 0x%02x", form)
			}
			r.bytes(int(r.count())) // parameters
			r.bytes(int(r.count())) // results
		}
		w.raw(r.b[start:r.off])
		w.raw([]byte{0x60, 0x00, 0x00}) // () -> ()
	case secImport:
		w.u32(r.u32() + 1)
		w.raw(r.rest())
		w.name(meterModule)
		w.name(meterYield)
		w.byte(0x00)
		w.u32(m.types)
	case secGlobal:
		n := r.count()
		w.u32(n + 1)
		for range n {
			w.raw(r.bytes(2)) // valtype, mutability
			if err := m.constExpr(r, w); err != nil {
				return nil, false, err
			}
		}
		w.raw([]byte{0x7f, 0x01}) // mutable i32
		w.byte(0x41)
		w.s32(meterSlice)
		w.byte(0x0b)
	case secExport:
		n := r.count()
		w.u32(n + 1)
		for range n {
			name := r.name()
			if name == meterFuel {
				return nil, false, fmt.Errorf("the module already exports %q", name)
			}
			kind, idx := r.byte(), r.u32()
			switch {
			case kind == 0x00:
				idx = m.fn(idx)
			case kind == 0x03 && idx >= m.fuel:
				return nil, false, fmt.Errorf("export %q of global %d, out of range", name, idx)
			}
			w.name(name)
			w.byte(kind)
			w.u32(idx)
		}
		w.name(meterFuel)
		w.byte(0x03)
		w.u32(m.fuel)
	case secStart:
		w.u32(m.fn(r.u32()))
	case secData:
		for range r.count() {
			flags := r.u32()
			if flags == 2 {
				r.u32() // memory index
			}
			if flags != 1 { // active: offset expression
				if err := m.constExpr(r, &writer{}); err != nil {
					return nil, false, err
				}
			}
			if flags > 2 && r.err == nil {
				return nil, false, fmt.Errorf("data segment with flags %d", flags)
			}
			r.bytes(int(r.count()))
		}
		if r.err == nil && r.off != len(r.b) {
			return nil, false, errors.New("trailing bytes")
		}
		return s.body, r.err == nil, r.err
	case secTable:
		for range r.count() {
			r.byte()
			if n := r.limits(); n > maxTableSize {
				return nil, false, fmt.Errorf("a table of %d entries exceeds %d", n, maxTableSize)
			}
		}
		return s.body, r.err == nil, r.err
	case secElement:
		if err := m.elements(r, w); err != nil {
			return nil, false, err
		}
	case secCode:
		w.b = make([]byte, 0, len(s.body)+len(s.body)/8)
		n := r.count()
		w.u32(n)
		for i := range n {
			body := r.bytes(int(r.u32()))
			if r.err != nil {
				break
			}
			out, err := meterBody(body, m)
			if err != nil {
				return nil, false, fmt.Errorf("function %d: %w", m.importedFuncs+i, err)
			}
			w.u32(uint32(len(out)))
			w.raw(out)
		}
	case secCustom:
		name := r.name()
		switch {
		case r.err != nil:
			return nil, false, r.err
		case strings.HasPrefix(name, ".debug_"):
			// DWARF addresses code offsets, which metering moves.
			return nil, false, nil
		case name == "name":
			rest := r.rest()
			b, err := m.names(rest)
			if err != nil {
				return nil, false, nil // names are optional: drop ones we cannot read
			}
			w.name(name)
			w.raw(b)
		default:
			return s.body, true, nil
		}
	default:
		return s.body, true, nil
	}
	if r.err != nil {
		return nil, false, r.err
	}
	if r.off != len(r.b) {
		return nil, false, fmt.Errorf("%d bytes of trailing garbage", len(r.b)-r.off)
	}
	return w.b, true, nil
}

func (m *meterer) elements(r *reader, w *writer) error {
	n := r.count()
	w.u32(n)
	for range n {
		flags := r.u32()
		w.u32(flags)
		if flags > 7 {
			return fmt.Errorf("element segment with flags %d", flags)
		}
		if flags&0b010 != 0 && flags&0b001 == 0 { // explicit table index
			w.u32(r.u32())
		}
		if flags&0b001 == 0 { // active: offset expression
			if err := m.constExpr(r, w); err != nil {
				return err
			}
		}
		if flags&0b011 != 0 { // elemkind or reftype
			w.byte(r.byte())
		}
		count := r.count()
		w.u32(count)
		for range count {
			if flags&0b100 == 0 {
				w.u32(m.fn(r.u32()))
			} else if err := m.constExpr(r, w); err != nil {
				return err
			}
		}
		if r.err != nil {
			return r.err
		}
	}
	return nil
}

// constExpr copies a constant expression up to its end, renumbering
// ref.func.
func (m *meterer) constExpr(r *reader, w *writer) error {
	for {
		in, err := r.instr()
		if err != nil {
			return err
		}
		if err := m.check(in); err != nil {
			return err
		}
		m.emit(w, r, in)
		if in.op == 0x0b {
			return nil
		}
	}
}

// check refuses an instruction that names the fuel global: the original
// module has no such global, so it would be invalid, but the metered one
// has, and a guest that could set its own fuel could never be stopped.
func (m *meterer) check(in instr) error {
	if (in.op == 0x23 || in.op == 0x24) && in.idx >= m.fuel {
		return fmt.Errorf("global index %d out of range", in.idx)
	}
	return nil
}

// emit copies one decoded instruction, renumbering function indices.
func (m *meterer) emit(w *writer, r *reader, in instr) {
	switch in.op {
	case 0x10, 0xd2: // call, ref.func
		w.byte(in.op)
		w.u32(m.fn(in.idx))
	default:
		w.raw(r.b[in.start:r.off])
	}
}

// names rewrites the name section's function-indexed subsections.
func (m *meterer) names(b []byte) ([]byte, error) {
	r := &reader{b: b}
	w := &writer{}
	for r.off < len(r.b) {
		id := r.byte()
		sub := r.bytes(int(r.u32()))
		if r.err != nil {
			return nil, r.err
		}
		if id < 1 || id > 3 { // 1 functions, 2 locals, 3 labels: keyed by function
			w.byte(id)
			w.u32(uint32(len(sub)))
			w.raw(sub)
			continue
		}
		sr, sw := &reader{b: sub}, &writer{}
		n := sr.count()
		sw.u32(n)
		for i := uint32(0); i < n && sr.err == nil; i++ {
			sw.u32(m.fn(sr.u32()))
			if id == 1 {
				sw.name(sr.name())
				continue
			}
			inner := sr.count()
			sw.u32(inner)
			for j := uint32(0); j < inner && sr.err == nil; j++ {
				sw.u32(sr.u32())
				sw.name(sr.name())
			}
		}
		if sr.err != nil || sr.off != len(sub) {
			return nil, errors.New("malformed name subsection")
		}
		w.byte(id)
		w.u32(uint32(len(sw.b)))
		w.raw(sw.b)
	}
	return w.b, nil
}

// meterBody rewrites one function body: a checkpoint at the head of every
// loop, and at the entry when the function calls another (so recursion is
// metered without charging leaf functions, which run a bounded number of
// instructions per loop-free activation).
func meterBody(body []byte, m *meterer) ([]byte, error) {
	r := &reader{b: body}
	nlocals := r.count()
	var locals uint64
	for range nlocals {
		locals += uint64(r.u32())
		r.byte()
	}
	if r.err != nil {
		return nil, r.err
	}
	if locals > maxLocals {
		return nil, fmt.Errorf("%d locals exceed %d", locals, maxLocals)
	}
	code := r.off

	// Pass 1: the weight of every region (the function's top level, then
	// each loop in order) and whether the function calls.
	weights := []uint32{0}
	type frame struct{ region int }
	stack := []frame{{0}}
	calls := false
	for len(stack) > 0 {
		in, err := r.instr()
		if err != nil {
			return nil, err
		}
		if err := m.check(in); err != nil {
			return nil, err
		}
		top := stack[len(stack)-1].region
		weights[top]++
		switch in.op {
		case 0x02, 0x04: // block, if
			stack = append(stack, frame{top})
		case 0x03: // loop
			weights = append(weights, 0)
			stack = append(stack, frame{len(weights) - 1})
		case 0x0b: // end
			stack = stack[:len(stack)-1]
		case 0x10, 0x11: // call, call_indirect
			calls = true
		}
	}
	if r.off != len(r.b) {
		return nil, errors.New("code after the function's end")
	}

	// Pass 2: copy, renumbering calls and adding the checkpoints.
	w := &writer{b: make([]byte, 0, len(body)+len(weights)*24)}
	w.raw(body[:code])
	r.off = code
	if calls {
		m.checkpoint(w, weights[0])
	}
	loop := 0
	for r.off < len(r.b) {
		in, _ := r.instr()
		m.emit(w, r, in)
		if in.op == 0x03 {
			loop++
			m.checkpoint(w, weights[loop])
		}
	}
	return w.b, nil
}

// checkpoint emits: fuel -= weight; if fuel < 0 { yield(); fuel = slice }.
func (m *meterer) checkpoint(w *writer, weight uint32) {
	weight = min(max(weight, 1), maxRegionWeight)
	w.byte(0x23) // global.get
	w.u32(m.fuel)
	w.byte(0x41) // i32.const
	w.s32(int32(weight))
	w.byte(0x6b) // i32.sub
	w.byte(0x24) // global.set
	w.u32(m.fuel)
	w.byte(0x23)
	w.u32(m.fuel)
	w.byte(0x41)
	w.s32(0)
	w.byte(0x48)           // i32.lt_s
	w.raw([]byte{4, 0x40}) // if (empty)
	w.byte(0x10)           // call
	w.u32(m.yield)
	w.byte(0x41)
	w.s32(meterSlice)
	w.byte(0x24)
	w.u32(m.fuel)
	w.byte(0x0b) // end
}

// instr is one decoded instruction: its opcode, and the function index of
// call and ref.func.
type instr struct {
	op    byte
	start int
	idx   uint32
}

// instr decodes the instruction at r.off and moves past it.
func (r *reader) instr() (instr, error) {
	in := instr{start: r.off}
	in.op = r.byte()
	switch op := in.op; {
	case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if: blocktype
		switch t := r.byte(); {
		case t == 0x40 || (t >= 0x7b && t <= 0x7f) || t == 0x70 || t == 0x6f:
		default: // a type index, s33
			r.off--
			r.sleb(5)
		}
	case op == 0x0c || op == 0x0d: // br, br_if
		r.u32()
	case op == 0x0e: // br_table
		n := r.count()
		for i := uint32(0); i <= n && r.err == nil; i++ {
			r.u32()
		}
	case op == 0x10 || op == 0xd2 || op == 0x23 || op == 0x24: // call, ref.func, global.get/set
		in.idx = r.u32()
	case op == 0x11: // call_indirect
		r.u32()
		r.u32()
	case op == 0x1c: // select t*
		r.bytes(int(r.u32()))
	case op >= 0x20 && op <= 0x26: // locals, table.get/set
		r.u32()
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x3f || op == 0x40: // memory.size, memory.grow
		r.u32()
	case op == 0x41:
		r.sleb(5)
	case op == 0x42:
		r.sleb(10)
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op == 0xd0: // ref.null
		r.byte()
	case op == 0x00 || op == 0x01 || op == 0x05 || op == 0x0b || op == 0x0f ||
		op == 0x1a || op == 0x1b || op == 0xd1 || (op >= 0x45 && op <= 0xc4):
	case op == 0xfc:
		r.misc()
	case op == 0xfd:
		r.simd()
	default:
		if r.err == nil {
			r.err = fmt.Errorf("unsupported instruction 0x%02x at offset %d", op, in.start)
		}
	}
	return in, r.err
}

func (r *reader) misc() {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncations
	case sub == 8: // memory.init
		r.u32()
		r.u32()
	case sub == 9, sub == 11, sub == 13, sub == 15, sub == 16, sub == 17:
		r.u32()
	case sub == 10, sub == 12, sub == 14:
		r.u32()
		r.u32()
	default:
		if r.err == nil {
			r.err = fmt.Errorf("unsupported instruction 0xfc %d", sub)
		}
	}
}

func (r *reader) simd() {
	switch sub := r.u32(); {
	case sub <= 11 || sub == 92 || sub == 93: // loads and stores
		r.memarg()
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // lane extract and replace
		r.byte()
	case sub >= 84 && sub <= 91: // lane loads and stores
		r.memarg()
		r.byte()
	case sub <= 0xff:
	default:
		if r.err == nil {
			r.err = fmt.Errorf("unsupported instruction 0xfd %d", sub)
		}
	}
}

func (r *reader) memarg() {
	if align := r.u32(); align >= 64 && r.err == nil {
		r.err = errors.New("multiple memories are not supported")
	}
	r.u32()
}

// reader decodes a module; the first error sticks and later reads return
// zeros.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("malformed module: %s at offset %d", what, r.off)
	}
}

func (r *reader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.off {
		r.fail("length past the end")
		return nil
	}
	r.off += n
	return r.b[r.off-n : r.off]
}

func (r *reader) rest() []byte { return r.bytes(len(r.b) - r.off) }

func (r *reader) u32() uint32 {
	v, n := binary.Uvarint(r.b[min(r.off, len(r.b)):])
	if r.err != nil || n <= 0 || n > 5 || v > 1<<32-1 {
		r.fail("bad u32")
		return 0
	}
	r.off += n
	return uint32(v)
}

// sleb skips a signed LEB128 of at most max bytes.
func (r *reader) sleb(limit int) {
	for range limit {
		if r.byte()&0x80 == 0 {
			return
		}
	}
	r.fail("bad signed integer")
}

// count reads a vector's length: no more than the bytes left, as each
// entry takes at least one (the compiler sizes its tables by it).
func (r *reader) count() uint32 {
	n := r.u32()
	if uint64(n) > uint64(len(r.b)-min(r.off, len(r.b))) {
		r.fail("vector longer than what is left")
		return 0
	}
	return n
}

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

// limits reads a limits pair and returns its minimum.
func (r *reader) limits() uint32 {
	switch flag := r.byte(); flag {
	case 0x00:
		return r.u32()
	case 0x01:
		n := r.u32()
		r.u32()
		return n
	default:
		r.fail("unsupported limits")
		return 0
	}
}

type writer struct{ b []byte }

func (w *writer) byte(c byte)  { w.b = append(w.b, c) }
func (w *writer) raw(b []byte) { w.b = append(w.b, b...) }
func (w *writer) u32(v uint32) { w.b = binary.AppendUvarint(w.b, uint64(v)) }
func (w *writer) s32(v int32)  { w.b = appendSLEB(w.b, int64(v)) }
func (w *writer) name(s string) {
	w.u32(uint32(len(s)))
	w.b = append(w.b, s...)
}

func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
