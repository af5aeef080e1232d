;; hook_describe never returns.
(module
  (memory (export "memory") 1)
  (func (export "producer_hook_abi_v1"))
  (func (export "hook_scratch") (param i32) (result i32) (i32.const 4096))
  (func (export "hook_describe") (result i64) (loop $l (br $l)) (i64.const 0))
  (func (export "hook_init") (param i32) (result i32) (i32.const 0))
  (func (export "hook_call") (param i32 i32) (result i64) (i64.const 0)))
