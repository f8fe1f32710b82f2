;; A hostile guest for the host's tests: it opens a store, writes a key through it, and
;; traps in the middle of its run.
(module
  ;; ---- shared by the hostile guests (each file repeats it: WAT has no includes) ----
  ;; Memory map: 0x000 {"op":2} finish (5 bytes); 0x008 {"op":1} task (5 bytes);
  ;; 0x010 hex digits; 0x020 iovec and nwritten for fd_write; 0x040 the failure line;
  ;; 0x080 the bytes "kind":"Invalid" as CBOR; 0x090 the head of a task response
  ;; {"task": ...}; 0x0a0 {"id":"app:cache","op":3} open (18 bytes); 0x100.. the
  ;; guest's own data; 0x1000.. response buffers.
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasmkv_v1" "call" (func $call (param i32 i32 i32 i32) (result i64)))
  (import "wasmkv_v1" "take" (func $take (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 0x000) "\a1\62op\02")
  (data (i32.const 0x008) "\a1\62op\01")
  (data (i32.const 0x010) "0123456789abcdef")
  (data (i32.const 0x040) "FAIL check #### got ################\n")
  (data (i32.const 0x080) "\64kind\67Invalid")
  (data (i32.const 0x090) "\a1\64task")
  (data (i32.const 0x0a0) "\a2\62id\69app:cache\62op\03")

  ;; $hex writes the $n low hex digits of $v at $ptr, most significant first.
  (func $hex (param $ptr i32) (param $v i64) (param $n i32)
    (loop $l
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (i32.store8 (i32.add (local.get $ptr) (local.get $n))
        (i32.load8_u offset=0x10 (i32.wrap_i64 (i64.and (local.get $v) (i64.const 15)))))
      (local.set $v (i64.shr_u (local.get $v) (i64.const 4)))
      (br_if $l (local.get $n))))

  ;; $fail prints "FAIL check <check> got <got>" (hex) to stdout and traps.
  (func $fail (param $check i32) (param $got i64)
    (call $hex (i32.const 0x4b) (i64.extend_i32_u (local.get $check)) (i32.const 4))
    (call $hex (i32.const 0x54) (local.get $got) (i32.const 16))
    (i32.store (i32.const 0x20) (i32.const 0x40))
    (i32.store (i32.const 0x24) (i32.const 37))
    (drop (call $fd_write (i32.const 1) (i32.const 0x20) (i32.const 1) (i32.const 0x28)))
    (unreachable))

  ;; $eq fails check $check unless $got == $want.
  (func $eq (param $check i32) (param $got i64) (param $want i64)
    (if (i64.ne (local.get $got) (local.get $want))
      (then (call $fail (local.get $check) (local.get $got)))))

  ;; $ok fails check $check, reporting $got, unless $cond holds.
  (func $ok (param $check i32) (param $cond i32) (param $got i64)
    (if (i32.eqz (local.get $cond))
      (then (call $fail (local.get $check) (local.get $got)))))

  ;; $memeq reports whether [$a, $a+$n) and [$b, $b+$n) hold the same bytes.
  (func $memeq (param $a i32) (param $b i32) (param $n i32) (result i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (if (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b)))
          (then (return (i32.const 0))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (i32.const 1))

  ;; $all reports whether every byte of [$p, $p+$n) is $b.
  (func $all (param $p i32) (param $n i32) (param $b i32) (result i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (if (i32.ne (i32.load8_u (local.get $p)) (local.get $b))
          (then (return (i32.const 0))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (i32.const 1))

  ;; $contains reports whether [$p, $p+$n) contains the bytes [$q, $q+$m), $m > 0.
  (func $contains (param $p i32) (param $n i32) (param $q i32) (param $m i32) (result i32)
    (local $i i32)
    (if (i32.lt_u (local.get $n) (local.get $m)) (then (return (i32.const 0))))
    (loop $l
      (if (call $memeq (i32.add (local.get $p) (local.get $i)) (local.get $q) (local.get $m))
        (then (return (i32.const 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.le_u (local.get $i) (i32.sub (local.get $n) (local.get $m)))))
    (i32.const 0))

  ;; $finish reports success; the host answers {} (a0, 1 byte).
  (func $finish
    (call $eq (i32.const 0xfff)
      (call $call (i32.const 0x000) (i32.const 5) (i32.const 0x1000) (i32.const 16)) (i64.const 1)))
  ;; ---- end of the shared part ----

  ;; {"op": 6, "h": 1, "key": h'7472617070656421', "val": 1}: set "trapped!" = 1 (26 bytes)
  (data (i32.const 0x100) "\a4\62op\06\61h\01\63key\48trapped!\63val\01")

  (func (export "_initialize"))

  (func (export "run")
    (call $eq (i32.const 0x01) (call $call (i32.const 0x0a0) (i32.const 18) (i32.const 0x1000) (i32.const 64)) (i64.const 4))
    (call $eq (i32.const 0x02) (call $call (i32.const 0x100) (i32.const 26) (i32.const 0x1000) (i32.const 64)) (i64.const 5))
    (unreachable))
)
