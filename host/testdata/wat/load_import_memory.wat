;; Refused at load time (docs/abi.md: "Importing anything else from wasmkv_v1 ... is
;; refused when the module is loaded"): imports a memory from wasmkv_v1.
(module
  (import "wasmkv_v1" "memory" (memory 1))
  (func (export "_initialize"))
  (func (export "run"))
)
