;; A hostile guest for the host's tests: the too-small-buffer path. take with nothing
;; pending is StatusNoPending (-3); a call whose response does not fit returns the
;; needed length and writes nothing (guard bytes 0xee stay); take returns the same
;; length and exactly that many bytes; the next call replaces a pending response.
;; The Go test gives the task a source of a few hundred bytes.
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

  (func (export "_initialize"))

  (func (export "run")
    (local $n i64) (local $len i32)
    ;; Nothing is pending at the start of a run.
    (call $eq (i32.const 0x01) (call $take (i32.const 0x1000) (i32.const 4096)) (i64.const -3))

    ;; Too small: the needed length, and not a byte written.
    (memory.fill (i32.const 0x1ff0) (i32.const 0xee) (i32.const 0x1000))
    (local.set $n (call $call (i32.const 0x008) (i32.const 5) (i32.const 0x2000) (i32.const 4)))
    (call $ok (i32.const 0x02) (i64.gt_s (local.get $n) (i64.const 4)) (local.get $n))
    (call $ok (i32.const 0x03) (i64.lt_s (local.get $n) (i64.const 0x800)) (local.get $n))
    (local.set $len (i32.wrap_i64 (local.get $n)))
    (call $ok (i32.const 0x04) (call $all (i32.const 0x1ff0) (i32.const 0x1000) (i32.const 0xee)) (local.get $n))
    ;; One byte short: the same length again, nothing written, still pending.
    (call $eq (i32.const 0x05) (call $take (i32.const 0x2000) (i32.sub (local.get $len) (i32.const 1))) (local.get $n))
    (call $ok (i32.const 0x06) (call $all (i32.const 0x1ff0) (i32.const 0x1000) (i32.const 0xee)) (local.get $n))
    ;; Room to spare: the same length, and exactly that many bytes written.
    (call $eq (i32.const 0x07) (call $take (i32.const 0x2000) (i32.add (local.get $len) (i32.const 16))) (local.get $n))
    (call $ok (i32.const 0x08) (call $memeq (i32.const 0x2000) (i32.const 0x090) (i32.const 6)) (local.get $n))
    (call $ok (i32.const 0x09) (call $all (i32.const 0x1ff0) (i32.const 0x10) (i32.const 0xee)) (local.get $n))
    (call $ok (i32.const 0x0a) (call $all (i32.add (i32.const 0x2000) (local.get $len)) (i32.sub (i32.const 0xff0) (local.get $len)) (i32.const 0xee)) (local.get $n))
    ;; Taken: nothing is pending any more.
    (call $eq (i32.const 0x0b) (call $take (i32.const 0x2000) (i32.const 4096)) (i64.const -3))

    ;; The same request with a buffer of exactly n bytes gets the same bytes directly.
    (memory.fill (i32.const 0x3000) (i32.const 0xee) (i32.const 0x1000))
    (call $eq (i32.const 0x0c) (call $call (i32.const 0x008) (i32.const 5) (i32.const 0x3000) (local.get $len)) (local.get $n))
    (call $ok (i32.const 0x0d) (call $memeq (i32.const 0x3000) (i32.const 0x2000) (local.get $len)) (local.get $n))
    (call $ok (i32.const 0x0e) (call $all (i32.add (i32.const 0x3000) (local.get $len)) (i32.sub (i32.const 0x1000) (local.get $len)) (i32.const 0xee)) (local.get $n))
    (call $eq (i32.const 0x0f) (call $take (i32.const 0x2000) (i32.const 4096)) (i64.const -3))

    ;; resp_cap 0 asks for the length; the next call replaces what was pending.
    (call $eq (i32.const 0x11) (call $call (i32.const 0x008) (i32.const 5) (i32.const 0x2000) (i32.const 0)) (local.get $n))
    (call $eq (i32.const 0x12) (call $call (i32.const 0x008) (i32.const 5) (i32.const 0x3000) (i32.const 4096)) (local.get $n))
    (call $eq (i32.const 0x13) (call $take (i32.const 0x2000) (i32.const 4096)) (i64.const -3))
    ;; A pending task response is replaced by the pending response of a later open.
    (call $eq (i32.const 0x14) (call $call (i32.const 0x008) (i32.const 5) (i32.const 0x2000) (i32.const 1)) (local.get $n))
    (call $eq (i32.const 0x15) (call $call (i32.const 0x0a0) (i32.const 18) (i32.const 0x4000) (i32.const 2)) (i64.const 4))
    (call $eq (i32.const 0x16) (call $take (i32.const 0x4000) (i32.const 64)) (i64.const 4))
    (call $eq (i32.const 0x17) (i64.extend_i32_u (i32.load (i32.const 0x4000))) (i64.const 0x016861a1))

    (call $finish))
)
