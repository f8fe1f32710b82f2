;; Refused at load time: imports a function wasmkv_v1 does not have.
(module
  (import "wasmkv_v1" "nope" (func $nope (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "run"))
)
