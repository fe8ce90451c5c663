;; Hostile: declares 1 GiB of initial memory. Build: wat2wasm bigmem.wat -o bigmem.wasm
(module
  (memory (export "memory") 16384)
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "policy_decide") (param i32 i32) (result i64) (i64.const 0)))
