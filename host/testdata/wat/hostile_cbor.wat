;; A hostile guest for the host's tests: malformed requests. Each must get a response
;; (n > 0), never a status, and the response must be {"err": {... "kind": "Invalid"}}.
;; Afterwards the host still answers a well-formed request. Each check traps (after
;; printing "FAIL check N got X") on a wrong answer.
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

  ;; The start of an error response: {"err": ...} is a1 63 "err".
  (data (i32.const 0x0f0) "\a1\63err")

  ;; The hostile requests: address, bytes (length in the call below).
  (data (i32.const 0x100) "\ff\ff\ff\ff")                           ;; garbage
  (data (i32.const 0x108) "\a2\62op\03\62i")                        ;; truncated map
  (data (i32.const 0x110) "\5b\ff\ff\ff\ff\ff\ff\ff\ff\00")         ;; bstr of 2^64-1 bytes
  (data (i32.const 0x120) "\a2\62op\05\63key\5a\7f\ff\ff\ff\00")    ;; key of 2 GiB
  (data (i32.const 0x130) "\a2\62op\03\62id\7a\7f\ff\ff\ff\61")     ;; id of 2 GiB
  (data (i32.const 0x140) "\9b\ff\ff\ff\ff\ff\ff\ff\ff")            ;; array of 2^64-1 items
  (data (i32.const 0x150) "\bb\00\00\00\00\ff\ff\ff\ff")            ;; map of 2^32-1 pairs
  (data (i32.const 0x160) "\a2\62op\06\63val\9a\00\10\00\01")       ;; val: 2^20+1 items declared
  (data (i32.const 0x170) "\bf\62op\01\ff")                         ;; indefinite-length map
  (data (i32.const 0x178) "\c0\a1\62op\01")                         ;; tagged
  (data (i32.const 0x180) "\a2\62op\01\62op\01")                    ;; duplicate key
  (data (i32.const 0x190) "\a1\62op\01\00")                         ;; trailing byte
  (data (i32.const 0x198) "\a1\62op\18\63")                         ;; unknown op 99
  (data (i32.const 0x1a0) "\a1\62op\19\01\00")                      ;; op 256 overflows
  (data (i32.const 0x1a8) "\a2\62op\01\63xyz\01")                   ;; unknown field
  (data (i32.const 0x1b8) "\a1\62OP\01")                            ;; field in the wrong case
  (data (i32.const 0x1c0) "\a2\62op\03\62id\62\c3\28")              ;; invalid UTF-8
  (data (i32.const 0x1d0) "\01")                                    ;; not a map
  (data (i32.const 0x1d8) "\a1\62op\fb\3f\f0\00\00\00\00\00\00")    ;; op as a float
  (data (i32.const 0x1e8) "\a1\62op\61x")                           ;; op as text
  (data (i32.const 0x1f0) "\a3\62op\05\61h\01\63key\63abc")         ;; key as text
  (data (i32.const 0x200) "\a1\62op\f6")                            ;; op null... accepted as 0
  (data (i32.const 0x208) "\a1\62op\00")                            ;; op 0

  (func (export "_initialize"))

  ;; $invalid sends [$ptr, $ptr+$len) and checks that the answer is an Invalid error.
  (func $invalid (param $check i32) (param $ptr i32) (param $len i32)
    (local $n i64)
    (memory.fill (i32.const 0xc000) (i32.const 0) (i32.const 0x1000))
    (local.set $n (call $call (local.get $ptr) (local.get $len) (i32.const 0xc000) (i32.const 0x1000)))
    (call $ok (local.get $check) (i32.and (i64.gt_s (local.get $n) (i64.const 0)) (i64.le_s (local.get $n) (i64.const 0x1000))) (local.get $n))
    (call $ok (local.get $check) (call $memeq (i32.const 0xc000) (i32.const 0x0f0) (i32.const 5)) (local.get $n))
    (call $ok (local.get $check) (call $contains (i32.const 0xc000) (i32.wrap_i64 (local.get $n)) (i32.const 0x080) (i32.const 13)) (local.get $n)))

  (func (export "run")
    (call $invalid (i32.const 0x01) (i32.const 0x100) (i32.const 4))
    (call $invalid (i32.const 0x02) (i32.const 0x108) (i32.const 7))
    (call $invalid (i32.const 0x03) (i32.const 0x110) (i32.const 10))
    (call $invalid (i32.const 0x04) (i32.const 0x120) (i32.const 15))
    (call $invalid (i32.const 0x05) (i32.const 0x130) (i32.const 14))
    (call $invalid (i32.const 0x06) (i32.const 0x140) (i32.const 9))
    (call $invalid (i32.const 0x07) (i32.const 0x150) (i32.const 9))
    (call $invalid (i32.const 0x08) (i32.const 0x160) (i32.const 12))
    (call $invalid (i32.const 0x09) (i32.const 0x170) (i32.const 5))
    (call $invalid (i32.const 0x0a) (i32.const 0x178) (i32.const 6))
    (call $invalid (i32.const 0x0b) (i32.const 0x180) (i32.const 9))
    (call $invalid (i32.const 0x0c) (i32.const 0x190) (i32.const 6))
    (call $invalid (i32.const 0x0d) (i32.const 0x198) (i32.const 6))
    (call $invalid (i32.const 0x0e) (i32.const 0x1a0) (i32.const 7))
    (call $invalid (i32.const 0x0f) (i32.const 0x1a8) (i32.const 10))
    (call $invalid (i32.const 0x10) (i32.const 0x1b8) (i32.const 5))
    (call $invalid (i32.const 0x11) (i32.const 0x1c0) (i32.const 10))
    (call $invalid (i32.const 0x12) (i32.const 0x1d0) (i32.const 1))
    (call $invalid (i32.const 0x13) (i32.const 0x1d8) (i32.const 12))
    (call $invalid (i32.const 0x14) (i32.const 0x1e8) (i32.const 5))
    (call $invalid (i32.const 0x15) (i32.const 0x1f0) (i32.const 13))
    (call $invalid (i32.const 0x16) (i32.const 0x200) (i32.const 4))
    (call $invalid (i32.const 0x17) (i32.const 0x208) (i32.const 4))
    ;; The empty request.
    (call $invalid (i32.const 0x18) (i32.const 0x100) (i32.const 0))
    ;; 65 nested one-element arrays, deeper than abi.MaxMessageDepth.
    (memory.fill (i32.const 0x4000) (i32.const 0x81) (i32.const 64))
    (i32.store8 (i32.const 0x4040) (i32.const 0x01))
    (call $invalid (i32.const 0x19) (i32.const 0x4000) (i32.const 65))
    ;; A well-formed request followed by 32 KiB of junk.
    (memory.fill (i32.const 0x4000) (i32.const 0xff) (i32.const 0x8000))
    (memory.copy (i32.const 0x4000) (i32.const 0x008) (i32.const 5))
    (call $invalid (i32.const 0x1a) (i32.const 0x4000) (i32.const 0x8000))

    ;; The host still answers a well-formed request.
    (call $ok (i32.const 0x21)
      (i64.gt_s (call $call (i32.const 0x008) (i32.const 5) (i32.const 0xc000) (i32.const 0x1000)) (i64.const 0)) (i64.const 0))
    (call $ok (i32.const 0x22) (call $memeq (i32.const 0xc000) (i32.const 0x090) (i32.const 6)) (i64.const 0))
    (call $finish))
)
