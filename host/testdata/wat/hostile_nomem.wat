;; A hostile guest for the host's tests: it has no memory at all. Its host call must
;; come back as StatusInternal (-5), not crash the host; the run fails with Internal.
(module
  (import "wasmkv_v1" "call" (func $call (param i32 i32 i32 i32) (result i64)))
  (func (export "_initialize"))
  (func (export "run")
    (if (i64.ne (call $call (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 16)) (i64.const -5))
      (then (unreachable))))
)
