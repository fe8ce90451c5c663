;; Hostile: policy_decide recurses for ever without a loop (fib(64) by
;; definition). Build: wat2wasm --debug-names recurse.wat -o recurse.wasm
(module
  (memory (export "memory") 1)
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func $fib (param i64) (result i64)
    (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
      (then (local.get 0))
      (else (i64.add (call $fib (i64.sub (local.get 0) (i64.const 1)))
                     (call $fib (i64.sub (local.get 0) (i64.const 2)))))))
  (func (export "policy_decide") (param i32 i32) (result i64)
    (call $fib (i64.const 64))))
