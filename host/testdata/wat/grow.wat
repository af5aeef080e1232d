;; A grow bomb: every call grows memory one page at a time up to the limit, writing all over each
;; new page, then traps (so the instance is thrown away and replaced) when the call's point is
;; BEFORE_SEND (1), and keeps it (answering "allow") otherwise.
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{{info}}")
  (func (export "producer_hook_abi_v1"))
  (func (export "hook_scratch") (param i32) (result i32) (i32.const 4096))
  (func (export "hook_describe") (result i64)
    (i64.or (i64.const 0x40000000000) (i64.const {{info_len}})))
  (func (export "hook_init") (param i32) (result i32) (i32.const 0))
  (func (export "hook_call") (param $point i32) (param i32) (result i64) (local $old i32) (local $i i32)
    (block $full
      (loop $grow
        (local.set $old (memory.grow (i32.const 1)))
        (br_if $full (i32.eq (local.get $old) (i32.const -1)))
        ;; write to every 4 KiB of the new page, so that all of it is really backed
        (local.set $i (i32.const 0))
        (loop $touch
          (i32.store8 (i32.add (i32.mul (local.get $old) (i32.const 65536)) (local.get $i)) (i32.const 1))
          (local.set $i (i32.add (local.get $i) (i32.const 4096)))
          (br_if $touch (i32.lt_u (local.get $i) (i32.const 65536))))
        (br $grow)))
    (if (i32.eq (local.get $point) (i32.const 1)) (then unreachable))
    (i64.const 0)))
