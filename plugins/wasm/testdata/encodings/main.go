// Command encodings writes the fixtures of encodings that wazero accepts and
// other tools read differently, which wat2wasm cannot produce: make policies
// runs it in plugins/wasm/testdata. Each module's policy_decide loops for
// ever; the host must stop it at its deadline like any other loop.
//
//   - simdleb.wasm: wazero reads a SIMD sub-opcode as one byte, the
//     specification as a LEB128: 0xfd 0x81 0x03 is i16x8.neg followed by a
//     loop for wazero, and opcode 385 (none) for a reader of the
//     specification, which misses the loop;
//   - padded.wasm: every unsigned LEB128 in the module (section sizes,
//     counts, indices, the branch depth) padded to 5 bytes;
//   - reftype.wasm: a block typed (ref null func), 0x63 0x70, a typed
//     reference of the function-references proposal.
package main

import (
	"fmt"
	"os"
)

// leb appends v as unsigned LEB128, padded to 5 bytes when pad is set.
func leb(dst []byte, v uint32, pad bool) []byte {
	if pad {
		for i := 0; i < 4; i++ {
			dst = append(dst, byte(v&0x7f)|0x80)
			v >>= 7
		}
		return append(dst, byte(v))
	}
	for v >= 0x80 {
		dst = append(dst, byte(v&0x7f)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

type asm struct{ pad bool }

func (a asm) vec(items ...[]byte) []byte {
	b := leb(nil, uint32(len(items)), a.pad)
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func (a asm) section(id byte, content []byte) []byte {
	return append(leb([]byte{id}, uint32(len(content)), a.pad), content...)
}

func (a asm) name(s string) []byte { return append(leb(nil, uint32(len(s)), a.pad), s...) }

func (a asm) export(name string, kind byte, idx uint32) []byte {
	return leb(append(a.name(name), kind), idx, a.pad)
}

func (a asm) body(code ...byte) []byte {
	b := append(leb(nil, 0, a.pad), code...) // no locals
	return append(leb(nil, uint32(len(b)), a.pad), b...)
}

// module assembles the policy ABI around decide, the body of policy_decide.
func (a asm) module(decide []byte) []byte {
	m := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	m = append(m, a.section(1, a.vec(
		[]byte{0x60, 0x00, 0x01, 0x7f},             // () -> i32
		[]byte{0x60, 0x01, 0x7f, 0x01, 0x7f},       // (i32) -> i32
		[]byte{0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7e}, // (i32 i32) -> i64
	))...)
	m = append(m, a.section(3, a.vec(leb(nil, 0, a.pad), leb(nil, 1, a.pad), leb(nil, 2, a.pad)))...)
	m = append(m, a.section(5, a.vec(leb([]byte{0x00}, 1, a.pad)))...)
	m = append(m, a.section(7, a.vec(
		a.export("memory", 0x02, 0),
		a.export("policy_abi_version", 0x00, 0),
		a.export("policy_alloc", 0x00, 1),
		a.export("policy_decide", 0x00, 2),
	))...)
	return append(m, a.section(10, a.vec(
		a.body(0x41, 0x01, 0x0b),       // i32.const 1
		a.body(0x41, 0x80, 0x08, 0x0b), // i32.const 1024
		a.body(decide...),
	))...)
}

func main() {
	plain, padded := asm{}, asm{pad: true}
	loopEnd := []byte{0x0b, 0x42, 0x00, 0x0b} // end loop; i64.const 0; end
	files := map[string][]byte{
		// i32.const 0; i32x4.splat; i16x8.neg (0xfd 0x81); loop; br 0; end; drop
		"simdleb.wasm": plain.module([]byte{0x41, 0x00, 0xfd, 0x11, 0xfd, 0x81,
			0x03, 0x40, 0x0c, 0x00, 0x0b, 0x1a, 0x42, 0x00, 0x0b}),
		// loop; br 0 (its depth padded)
		"padded.wasm": padded.module(append(leb([]byte{0x03, 0x40, 0x0c}, 0, true), loopEnd...)),
		// block (result (ref null func)) ref.null func end; drop; loop; br 0
		"reftype.wasm": plain.module(append([]byte{0x02, 0x63, 0x70, 0xd0, 0x70, 0x0b, 0x1a,
			0x03, 0x40, 0x0c, 0x00}, loopEnd...)),
	}
	for name, b := range files {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
