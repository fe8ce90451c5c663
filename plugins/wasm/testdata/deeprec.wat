;; Hostile: recursion through call_indirect that never ends, with a frame
;; of 64 locals: the call depth limit traps it.
;; Build: wat2wasm --debug-names deeprec.wat -o deeprec.wasm
(module
  (type $f_t (func (param i64) (result i64)))
  (memory (export "memory") 1)
  (table 1 1 funcref)
  (elem (i32.const 0) $f)
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func $f (type $f_t) (param $n i64) (result i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (i64.add (local.get $n)
      (call_indirect (type $f_t) (i64.add (local.get $n) (i64.const 1)) (i32.const 0))))
  (func (export "policy_decide") (param i32 i32) (result i64)
    (call_indirect (type $f_t) (i64.const 0) (i32.const 0))))
