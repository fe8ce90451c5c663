;; Hostile: exports neither policy_alloc nor policy_decide.
;; Build: wat2wasm noexports.wat -o noexports.wasm
(module
  (memory (export "memory") 1)
  (func (export "policy_abi_version") (result i32) (i32.const 1)))
