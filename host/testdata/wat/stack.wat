;; hook_call recurses without end: a stack overflow on every call.
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{{info}}")
  (func $deeper (param i32) (result i32)
    (i32.add (call $deeper (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "producer_hook_abi_v1"))
  (func (export "hook_scratch") (param i32) (result i32) (i32.const 4096))
  (func (export "hook_describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const {{info_len}})))
  (func (export "hook_init") (param i32) (result i32) (i32.const 0))
  (func (export "hook_call") (param i32 i32) (result i64)
    (i64.extend_i32_u (call $deeper (i32.const 0)))))
