;; A log forger: its name (in {{info}}) holds newlines and ESC sequences, and on every call it logs
;; {{text}} through the log import, writes it to stdout and returns it as its error text.
(module
  (import "producer_hook" "log" (func $log (param i32 i32 i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{{info}}")
  (data (i32.const 2048) "{{text}}")
  (func (export "producer_hook_abi_v1"))
  (func (export "hook_scratch") (param i32) (result i32) (i32.const 8192))
  (func (export "hook_describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const {{info_len}})))
  (func (export "hook_init") (param i32) (result i32) (i32.const 0))
  (func (export "hook_call") (param i32 i32) (result i64)
    (call $log (i32.const 2) (i32.const 2048) (i32.const {{text_len}}))
    ;; one iovec at 512: {ptr 2048, len text_len}; the count written goes to 520
    (i32.store (i32.const 512) (i32.const 2048))
    (i32.store (i32.const 516) (i32.const {{text_len}}))
    (drop (call $fd_write (i32.const 1) (i32.const 512) (i32.const 1) (i32.const 520)))
    ;; error result: ptr 2048, bit 31 of the length set
    (i64.or (i64.const 0x80000000000) (i64.or (i64.const 0x80000000) (i64.const {{text_len}})))))
