;; Hostile: claims ABI version 2. Build: wat2wasm abi2.wat -o abi2.wasm
(module
  (memory (export "memory") 1)
  (func (export "policy_abi_version") (result i32) (i32.const 2))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "policy_decide") (param i32 i32) (result i64) (i64.const 0)))
