;; The snapshot variant: mutable globals (one imported), a data segment and a start
;; function, all of which the variant must drop or export.
(module
  (import "env" "shared" (global $shared (mut i32)))
  (memory (export "memory") 1 4)
  (global $a (mut i32) (i32.const 1))
  (global $k i64 (i64.const 2))
  (global $b (mut i64) (i64.const 3))
  (data (i32.const 8) "snapshot")
  (start $init)
  (func $init (global.set $a (i32.const 100)))
  (func (export "get") (result i32) (global.get $a))
  (func (export "byte") (result i32) (i32.load8_u (i32.const 8)))
)
