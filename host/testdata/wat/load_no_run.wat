;; Refused at load time: no run export.
(module
  (import "wasmkv_v1" "call" (func $call (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "start"))
)
