;; Hostile: its _initialize never returns. Build: wat2wasm initloop.wat -o initloop.wasm
(module
  (memory (export "memory") 1)
  (func (export "_initialize") (loop $forever (br $forever)))
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "policy_decide") (param i32 i32) (result i64) (i64.const 0)))
