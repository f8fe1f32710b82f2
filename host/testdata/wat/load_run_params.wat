;; Refused at load time: run takes a parameter.
(module
  (import "wasmkv_v1" "call" (func $call (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "run") (param i32))
)
