;; Probe: answers allowed with total = the guest's wall clock (ns) and batch =
;; its monotonic clock, to prove guests only see wazero's fake clocks.
;; Build: wat2wasm clock.wat -o clock.wasm
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 532) "\02\00\00\00ok\00\00\00\00")
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "policy_decide") (param i32 i32) (result i64)
    (i32.store8 (i32.const 512) (i32.const 1))
    (i32.store8 (i32.const 513) (i32.const 7))
    (i32.store16 (i32.const 514) (i32.const 0))
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 516)))
    (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 524)))
    (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 30))))
