;; Hostile: fd_write storms. Each call passes 1024 iovecs, each over the
;; whole memory (64 MiB a call), for ever; a call with 2^20 iovecs is
;; refused (EINVAL) first. Build: wat2wasm --debug-names fdstorm.wat -o fdstorm.wasm
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "policy_decide") (param i32 i32) (result i64)
    (local $i i32)
    (drop (memory.grow (i32.const 1023))) ;; 64 MiB, or -1 under a lower limit
    ;; 1024 iovecs at 0, each {0, memory size}
    (loop $vec
      (i32.store (i32.shl (local.get $i) (i32.const 3)) (i32.const 0))
      (i32.store (i32.add (i32.shl (local.get $i) (i32.const 3)) (i32.const 4))
                 (i32.mul (memory.size) (i32.const 65536)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $vec (i32.lt_u (local.get $i) (i32.const 1024))))
    (if (i32.ne (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0x100000) (i32.const 8192)) (i32.const 28))
      (then unreachable))
    (loop $forever
      (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1024) (i32.const 8192)))
      (br $forever))
    (i64.const 0)))
