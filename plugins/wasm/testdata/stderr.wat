;; Hostile: writes 64 KiB to stderr, then traps. Build: wat2wasm stderr.wat -o stderr.wasm
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "guest says: something went wrong\n")
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "policy_decide") (param i32 i32) (result i64)
    (local $i i32)
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 33))
    (loop $again
      (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 2000))))
    unreachable))
