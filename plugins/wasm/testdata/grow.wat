;; Hostile: policy_decide asks for 4 GiB of memory and writes to its end.
;; Build: wat2wasm grow.wat -o grow.wasm
(module
  (memory (export "memory") 1)
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "policy_decide") (param i32 i32) (result i64)
    (drop (memory.grow (i32.const 65535)))
    (i32.store (i32.const 0xfffffff0) (i32.const 1))
    (i64.const 0)))
