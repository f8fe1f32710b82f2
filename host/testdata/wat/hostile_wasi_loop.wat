;; A hostile guest for the host's tests: its loop makes one costly WASI call per iteration
;; (random_get of 1 MiB), so that it reaches few countdown checks per second. The host
;; must still stop it soon after its deadline.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (memory (export "memory") 17)
  (func (export "_initialize"))
  (func (export "run")
    (loop $l
      (drop (call $random_get (i32.const 0) (i32.const 0x100000)))
      (br $l))))
