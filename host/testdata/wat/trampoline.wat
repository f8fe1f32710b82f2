;; For FuzzHostCall: forwards its parameters to the host functions, so the fuzz test can
;; call them with any (ptr, len, resp_ptr, resp_cap) and any memory contents. call64
;; takes i64 values and wraps them to i32, as a compiler would, so values with high bits
;; set reach the host too. Memory is fixed at one page.
(module
  (import "wasmkv_v1" "call" (func $call (param i32 i32 i32 i32) (result i64)))
  (import "wasmkv_v1" "take" (func $take (param i32 i32) (result i64)))
  (memory (export "memory") 1 1)
  (func (export "_initialize"))
  (func (export "run"))
  (func (export "call") (param i32 i32 i32 i32) (result i64)
    (call $call (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "call64") (param i64 i64 i64 i64) (result i64)
    (call $call (i32.wrap_i64 (local.get 0)) (i32.wrap_i64 (local.get 1))
      (i32.wrap_i64 (local.get 2)) (i32.wrap_i64 (local.get 3))))
  (func (export "take") (param i32 i32) (result i64)
    (call $take (local.get 0) (local.get 1)))
)
