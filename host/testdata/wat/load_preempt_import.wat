;; Refused at load time: imports the countdown's host function, which only the host's
;; own instrumentation (package wasmpass) may import.
(module
  (import "wasmkv_preempt" "check" (func $check))
  (import "wasmkv_v1" "call" (func $call (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "run") (call $check))
)
