;; Hostile: a table of 2^27 entries (1 GiB in wazero) from the start.
;; Refused at load. Build: wat2wasm --debug-names bigtable.wat -o bigtable.wasm
(module
  (memory (export "memory") 1)
  (table 134217728 funcref)
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "policy_decide") (param i32 i32) (result i64) (i64.const 0)))
