;; Refused at load time: imports wasmkv_v1.take with an i32 result.
(module
  (import "wasmkv_v1" "take" (func $take (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "run"))
)
