;; Benchmark probe (not a policy): "fill" is one memory.fill over the whole
;; memory, one uninterruptible step; "grow" grows the memory to the limit.
;; Build: wat2wasm --debug-names onefill.wat -o onefill.wasm
(module
  (memory (export "memory") 1)
  (func (export "grow")
    (block $full (loop $more
      (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
      (br $more))))
  (func (export "fill") (param $v i32)
    (memory.fill (i32.const 0) (local.get $v) (i32.mul (memory.size) (i32.const 65536))))
  (func (export "copy")
    (memory.copy (i32.const 0) (i32.const 1) (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 1)))))
