;; Loads (only wasmkv imports are checked at load), but cannot be instantiated: it
;; imports from a module the host does not provide.
(module
  (import "env" "abort" (func $abort))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "run"))
)
