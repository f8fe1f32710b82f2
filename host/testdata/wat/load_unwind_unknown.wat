;; Refused at load time: imports a function wasmkv_lua_v1 does not have.
(module
  (import "wasmkv_lua_v1" "catch" (func $catch))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "run"))
)
