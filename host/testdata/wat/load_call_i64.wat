;; Refused at load time: imports wasmkv_v1.call with i64 parameters (a guest that could
;; pass 64-bit pointers with high bits set). The host must name the import and both
;; signatures.
(module
  (import "wasmkv_v1" "call" (func $call (param i64 i64 i64 i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "run")
    (drop (call $call (i64.const 0xffffffff00000000) (i64.const 5) (i64.const 0x100000000) (i64.const 64))))
)
