;; Hostile: its start function never returns. Refused at load, after the
;; instantiation timeout. Build: wat2wasm --debug-names startloop.wat -o startloop.wasm
(module
  (memory (export "memory") 1)
  (func $start (loop $forever (br $forever)))
  (start $start)
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "policy_decide") (param i32 i32) (result i64) (i64.const 0)))
