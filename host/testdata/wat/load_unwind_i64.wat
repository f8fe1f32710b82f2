;; Refused at load time: imports the PUC Lua guest's try with i64 parameters.
(module
  (import "wasmkv_lua_v1" "try" (func $try (param i64 i64 i64) (result i32)))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "run"))
  (func (export "wasmkv_lua_protected") (param i32 i32 i32))
)
