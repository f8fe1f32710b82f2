;; Throws with no protected call to unwind to: the run fails, the host stays up.
(module
  (import "wasmkv_lua_v1" "throw" (func $throw))
  (import "wasmkv_lua_v1" "try" (func $try (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $sp (export "__stack_pointer") (mut i32) (i32.const 65536))
  (func (export "_initialize"))
  (func (export "run") (call $throw))
  (func (export "wasmkv_lua_protected") (param i32 i32 i32))
)
