;; Refused at load time: no _initialize export (a command module with _start instead).
(module
  (import "wasmkv_v1" "call" (func $call (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (func (export "_start"))
  (func (export "run"))
)
