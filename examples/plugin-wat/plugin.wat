;; A wasmkv guest in raw WebAssembly, with no SDK: it shows the ABI of docs/abi.md at
;; its smallest. It opens app:cache, stores "hello from wat" under the key wat:hello, and
;; reports success; any unexpected answer is reported as an error.
;;
;;   wat2wasm plugin.wat -o plugin.wasm && wasmkv run plugin.wasm
(module
  ;; call(req_ptr, req_len, resp_ptr, resp_cap) -> response length, or a negative status
  (import "wasmkv_v1" "call" (func $call (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)

  ;; {"id": "app:cache", "op": 3}: open the store (18 bytes)
  (data (i32.const 0) "\a2\62id\69app:cache\62op\03")
  ;; {"op": 6, "h": <handle>, "key": h'wat:hello', "val": "hello from wat"} (41 bytes);
  ;; the handle is the byte at offset 71, filled in from the open response
  (data (i32.const 64) "\a4\62op\06\61h\00\63key\49wat:hello\63val\6ehello from wat")
  ;; {"op": 2}: finish, success (5 bytes)
  (data (i32.const 128) "\a1\62op\02")
  ;; {"op": 2, "err": {"kind": "Internal", "msg": "unexpected answer"}} (46 bytes)
  (data (i32.const 160) "\a2\62op\02\63err\a2\64kind\68Internal\63msg\71unexpected answer")

  ;; The host runs _initialize once per instance, then run once per run.
  (func (export "_initialize"))

  (func $fail
    (drop (call $call (i32.const 160) (i32.const 46) (i32.const 512) (i32.const 256))))

  (func (export "run")
    ;; open: the answer {"h": N} is a1 61 68 N, 4 bytes, for a handle below 24
    (if (i64.ne (call $call (i32.const 0) (i32.const 18) (i32.const 512) (i32.const 256)) (i64.const 4))
      (then (call $fail) (return)))
    (i32.store8 (i32.const 71) (i32.load8_u (i32.const 515)))
    ;; set: the answer {"ok": true} is a1 62 6f 6b f5, 5 bytes
    (if (i64.ne (call $call (i32.const 64) (i32.const 41) (i32.const 512) (i32.const 256)) (i64.const 5))
      (then (call $fail) (return)))
    (drop (call $call (i32.const 128) (i32.const 5) (i32.const 512) (i32.const 256))))
)
