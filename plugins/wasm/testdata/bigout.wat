;; Hostile: answers an output of 2 GiB. Build: wat2wasm bigout.wat -o bigout.wasm
(module
  (memory (export "memory") 1)
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "policy_decide") (param i32 i32) (result i64) (i64.const 0x7fffffff)))
