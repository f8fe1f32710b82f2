;; Refused at load time: built for another ABI version, wasmkv_v2.
(module
  (import "wasmkv_v2" "call" (func $call (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "run"))
)
