;; Hostile: table.grow by 64 Mi entries and table.fill over a whole table,
;; for ever. $free declares no maximum (the host gives it its minimum, so it
;; cannot grow); $capped may grow to the rest of the host's cap of 2^20 entries.
;; Build: wat2wasm --debug-names tables.wat -o tables.wasm
(module
  (memory (export "memory") 1)
  (table $free 1 externref)
  (table $capped 1 1048575 funcref)
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "policy_decide") (param i32 i32) (result i64)
    (loop $forever
      (drop (table.grow $free (ref.null extern) (i32.const 0x4000000)))
      (drop (table.grow $capped (ref.null func) (i32.const 0x4000000)))
      (drop (table.grow $capped (ref.null func) (i32.sub (i32.const 1048575) (table.size $capped))))
      (table.fill $capped (i32.const 0) (ref.null func) (table.size $capped))
      (table.fill $free (i32.const 0) (ref.null extern) (table.size $free))
      (br $forever))
    (i64.const 0)))
