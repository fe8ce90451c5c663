;; Hostile: policy_decide never returns. Build: wat2wasm loop.wat -o loop.wasm
(module
  (memory (export "memory") 1)
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "policy_decide") (param i32 i32) (result i64)
    (loop $forever (br $forever))
    (i64.const 0)))
