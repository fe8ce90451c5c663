;; Hostile: a call tree through call_indirect with no loop anywhere: each
;; call of $node makes two calls one level down, 2^64 in all. wazero's own
;; interrupt checks loop heads only; the host's function-entry check stops it.
;; Build: wat2wasm --debug-names treecall.wat -o treecall.wasm
(module
  (type $node_t (func (param i64) (result i64)))
  (memory (export "memory") 1)
  (table 1 1 funcref)
  (elem (i32.const 0) $node)
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func $node (type $node_t) (param $d i64) (result i64)
    (if (result i64) (i64.eqz (local.get $d))
      (then (i64.const 1))
      (else (i64.add
        (call_indirect (type $node_t) (i64.sub (local.get $d) (i64.const 1)) (i32.const 0))
        (call_indirect (type $node_t) (i64.sub (local.get $d) (i64.const 1)) (i32.const 0))))))
  (func (export "policy_decide") (param i32 i32) (result i64)
    (call_indirect (type $node_t) (i64.const 64) (i32.const 0))))
