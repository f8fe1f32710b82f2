;; Uses try without exporting __stack_pointer, which the host restores on a throw.
(module
  (import "wasmkv_lua_v1" "try" (func $try (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "run") (drop (call $try (i32.const 0) (i32.const 0) (i32.const 0))))
  (func (export "wasmkv_lua_protected") (param i32 i32 i32))
)
