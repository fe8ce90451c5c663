;; Hostile: answers 8 bytes that are not an ABI v1 output.
;; Build: wat2wasm badout.wat -o badout.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "\09\09\09\09\09\09\09\09")
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "policy_decide") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 8))))
