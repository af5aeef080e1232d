;; A start function that never returns: instantiation itself hangs.
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{{info}}")
  (func $spin (loop $l (br $l)))
  (start $spin)
  (func (export "producer_hook_abi_v1"))
  (func (export "hook_scratch") (param i32) (result i32) (i32.const 4096))
  (func (export "hook_describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const {{info_len}})))
  (func (export "hook_init") (param i32) (result i32) (i32.const 0))
  (func (export "hook_call") (param i32 i32) (result i64) (i64.const 0)))
