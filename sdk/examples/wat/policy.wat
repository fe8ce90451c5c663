;; A licensehost policy of ABI v1 written by hand in WebAssembly text, to show
;; the ABI is language-neutral (docs/policy-abi.md). It applies the built-in
;; rules of SPEC §5 to the limits in the input's fixed header, with reason codes
;; and no messages:
;;   batch < 1 → invalid_batch; batch > batch limit → batch_exceeded;
;;   used + batch > total → total_exceeded; otherwise ok.
;; Build: wat2wasm policy.wat -o wat.wasm
(module
  (memory (export "memory") 1)
  ;; reason strings
  (data (i32.const 16) "ok")
  (data (i32.const 32) "invalid_batch")
  (data (i32.const 48) "batch_exceeded")
  (data (i32.const 64) "total_exceeded")

  ;; The input buffer is at 1024 and may use the rest of the page.
  (func (export "policy_abi_version") (result i32) (i32.const 1))

  (func (export "policy_alloc") (param $n i32) (result i32)
    (if (i32.gt_u (local.get $n) (i32.const 64512)) (then (return (i32.const 0))))
    (i32.const 1024))

  ;; Output at 512: u8 version, u8 flags, u16 0, i64 total, i64 batch, str reason, str message("").
  (func $answer (param $allowed i32) (param $flags i32) (param $total i64) (param $batch i64)
                (param $reason i32) (param $rlen i32) (result i64)
    (i32.store8 (i32.const 512) (i32.const 1))
    (i32.store8 (i32.const 513) (i32.or (local.get $allowed) (i32.and (local.get $flags) (i32.const 6))))
    (i32.store16 (i32.const 514) (i32.const 0))
    (i64.store (i32.const 516) (local.get $total))
    (i64.store (i32.const 524) (local.get $batch))
    (i32.store (i32.const 532) (local.get $rlen))
    (memory.copy (i32.const 536) (local.get $reason) (local.get $rlen))
    (i32.store (i32.add (i32.const 536) (local.get $rlen)) (i32.const 0))
    ;; ptr<<32 | len, len = 28 + rlen
    (i64.or (i64.shl (i64.const 512) (i64.const 32))
            (i64.extend_i32_u (i32.add (i32.const 28) (local.get $rlen)))))

  (func (export "policy_decide") (param $ptr i32) (param $len i32) (result i64)
    (local $flags i32) (local $total i64) (local $blimit i64) (local $used i64) (local $batch i64)
    ;; need the fixed 52-byte header of ABI v1
    (if (i32.lt_u (local.get $len) (i32.const 52)) (then (return (i64.const 0))))
    (if (i32.ne (i32.load8_u (local.get $ptr)) (i32.const 1)) (then (return (i64.const 0))))
    (local.set $flags (i32.load8_u offset=1 (local.get $ptr)))
    (local.set $total (i64.load offset=4 (local.get $ptr)))
    (local.set $blimit (i64.load offset=12 (local.get $ptr)))
    (local.set $used (i64.load offset=20 (local.get $ptr)))
    (local.set $batch (i64.load offset=28 (local.get $ptr)))
    (if (i32.or (i64.le_s (local.get $batch) (i64.const 0)) (i64.lt_s (local.get $used) (i64.const 0)))
      (then (return (call $answer (i32.const 0) (local.get $flags) (local.get $total) (local.get $blimit) (i32.const 32) (i32.const 13)))))
    (if (i32.and (i32.ne (i32.and (local.get $flags) (i32.const 4)) (i32.const 0))
                 (i64.gt_s (local.get $batch) (local.get $blimit)))
      (then (return (call $answer (i32.const 0) (local.get $flags) (local.get $total) (local.get $blimit) (i32.const 48) (i32.const 14)))))
    (if (i32.and (i32.ne (i32.and (local.get $flags) (i32.const 2)) (i32.const 0))
                 (i64.gt_s (local.get $batch) (i64.sub (local.get $total) (local.get $used))))
      (then (return (call $answer (i32.const 0) (local.get $flags) (local.get $total) (local.get $blimit) (i32.const 64) (i32.const 14)))))
    (call $answer (i32.const 1) (local.get $flags) (local.get $total) (local.get $blimit) (i32.const 16) (i32.const 2)))
)
