;; A module that uses every kind of function reference the rewrite must shift, and
;; the features the host enables. Each export computes something the tests compare
;; between the original and the rewritten module.
(module
  (type $binop (func (param i32 i32) (result i32)))
  (type $unop (func (param i32) (result i32)))
  (import "env" "add" (func $add (type $binop)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1 2)
  (table $t 8 funcref)
  (table $t2 4 funcref)
  (global $counter (mut i32) (i32.const 7))
  (global $wide (mut i64) (i64.const -5))
  (global $fref (mut funcref) (ref.null func))
  (global $const i32 (i32.const 42))

  ;; Active segments in every encoding, a passive one and a declarative one.
  (elem (i32.const 0) $double $square)
  (elem (table $t) (i32.const 2) func $fib $add)
  (elem (table $t2) (i32.const 0) funcref (ref.func $square) (ref.null func))
  (elem $passive funcref (ref.func $fib) (ref.func $double))
  (elem declare func $tail)
  (data (i32.const 16) "hello")
  (data $pd "world")

  (start $init)
  (func $init (global.set $counter (i32.add (global.get $counter) (i32.const 1))))

  (func $double (type $unop) (i32.mul (local.get 0) (i32.const 2)))
  (func $square (type $unop) (i32.mul (local.get 0) (local.get 0)))

  ;; A loop, a call and a br_table.
  (func $fib (export "fib") (type $unop) (local $a i32) (local $b i32) (local $t i32)
    (local.set $b (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get 0)))
        (local.set $t (call $add (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $next)))
    (local.get $a))

  (func (export "pick") (param i32) (result i32)
    (block $c (block $b (block $a
      (br_table $a $b $c (local.get 0)))
      (return (i32.const 10)))
      (return (i32.const 20)))
    (i32.const 30))

  ;; call_indirect through both tables, ref.func, table.init from the passive segment.
  (func (export "indirect") (param i32 i32) (result i32)
    (call_indirect $t (type $unop) (local.get 1) (local.get 0)))
  (func (export "indirect2") (param i32) (result i32)
    (table.init $t 3 (i32.const 4) (i32.const 0) (i32.const 2))
    (call_indirect $t (type $unop) (local.get 0) (i32.const 5)))
  (func (export "viaglobal") (param i32) (result i32)
    (global.set $fref (table.get $t (i32.const 1)))
    (table.set $t2 (i32.const 3) (global.get $fref))
    (call_indirect $t2 (type $unop) (local.get 0) (i32.const 3)))
  ;; ref.func in code (wabt 1.0.32 types it too strictly for table.set).
  (func (export "reffunc") (result i32)
    (i32.add (ref.is_null (ref.func $tail))
      (call_indirect $t2 (type $unop) (i32.const 6) (i32.const 0))))

  ;; Tail calls, direct and indirect.
  (func $tail (type $unop) (return_call $square (i32.add (local.get 0) (i32.const 1))))
  (func (export "tail") (param i32) (result i32)
    (if (i32.eqz (local.get 0)) (then (return_call $tail (i32.const 2))))
    (return_call_indirect $t (type $unop) (local.get 0) (i32.const 1)))

  ;; Multi-value blocks and loops with parameters.
  (func (export "multi") (param i32) (result i32 i32)
    (local.get 0)
    (loop $l (param i32) (result i32)
      (i32.add (i32.const 1))
      (local.tee 0)
      (i32.lt_u (local.get 0) (i32.const 10))
      (br_if $l))
    (i32.const 99))

  ;; Bulk memory, memory.init and data.drop, globals, sign extension, saturation.
  (func (export "bulk") (result i32)
    (memory.init $pd (i32.const 100) (i32.const 0) (i32.const 5))
    (data.drop $pd)
    (memory.copy (i32.const 200) (i32.const 16) (i32.const 5))
    (memory.fill (i32.const 300) (i32.const 7) (i32.const 3))
    (call $log (i32.load8_u (i32.const 104)))
    (i32.add (i32.add (i32.load8_u (i32.const 100)) (i32.load8_u (i32.const 204)))
      (i32.add (i32.load8_u (i32.const 302)) (global.get $counter))))
  (func (export "numeric") (param f64) (result i64)
    (global.set $wide (i64.extend8_s (i64.const 0x80)))
    (i64.add (i64.trunc_sat_f64_s (local.get 0)) (global.get $wide)))

  ;; SIMD: memarg, lane, const and shuffle immediates.
  (func (export "simd") (result i32)
    (v128.store (i32.const 400) (v128.const i32x4 1 2 3 4))
    (i32x4.extract_lane 2
      (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
        (i32x4.add (v128.load (i32.const 400)) (i32x4.splat (i32.const 10)))
        (v128.load32_lane 1 (i32.const 400) (v128.const i64x2 0 0)))))

  ;; Runs forever unless stopped: the checks must fire.
  (func (export "spin") (loop $l (br $l)))
  ;; Recurses forever without a loop: the entry checks must fire.
  (func $recurse (export "recurse") (call $recurse))
)
