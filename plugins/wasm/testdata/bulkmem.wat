;; Hostile: policy_decide grows its memory to the host's limit, then fills
;; and copies all of it, for ever: each memory.fill/memory.copy is one bulk
;; operation over the whole memory (32 MiB under the default limit).
;; Build: wat2wasm --debug-names bulkmem.wat -o bulkmem.wasm
(module
  (memory (export "memory") 1)
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "policy_decide") (param i32 i32) (result i64)
    (local $bytes i32)
    ;; grow page by page until the host refuses
    (block $full
      (loop $grow
        (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $grow)))
    (local.set $bytes (i32.mul (memory.size) (i32.const 65536)))
    (loop $forever
      (memory.fill (i32.const 0) (i32.const 0xab) (local.get $bytes))
      (memory.copy (i32.const 0) (i32.const 1) (i32.sub (local.get $bytes) (i32.const 1)))
      (br $forever))
    (i64.const 0)))
