;; Refused at load time: imports try but exports no function for it to call.
(module
  (import "wasmkv_lua_v1" "try" (func $try (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "run"))
)
