;; Loops for BenchmarkChecks: the cost of the countdown checks against no checks.
(module
  (memory 1)
  (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 3)))
  (func $mid (param i32) (result i32) (call $leaf (i32.xor (local.get 0) (i32.const 5))))
  ;; A tight arithmetic loop: one check per iteration.
  (func (export "arith") (param $n i32) (result i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.mul (local.get $n) (local.get $n))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $s))
  ;; A loop of calls: a check per iteration and one at the entry of $mid (it calls).
  (func (export "calls") (param $n i32) (result i32) (local $s i32)
    (loop $l
      (local.set $s (call $mid (local.get $s)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $s))
  ;; A loop over memory, like a table scan.
  (func (export "memory") (param $n i32) (result i32) (local $s i32) (local $p i32)
    (loop $l
      (local.set $p (i32.and (i32.mul (local.get $n) (i32.const 4)) (i32.const 0xfffc)))
      (i32.store (local.get $p) (i32.add (i32.load (local.get $p)) (local.get $n)))
      (local.set $s (i32.add (local.get $s) (i32.load (local.get $p))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $s))
)
