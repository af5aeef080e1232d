// The host imports of ABI v1 (docs/abi.md §3, module "producer_hook") that this plugin uses, and
// WASI's fd_write for the one thing the producer_hook imports cannot do: report why hook_init
// rejected the configuration (the imports are valid only during hook_call, §3). Pointers are i32
// offsets into this module's memory (usize is 32 bits on wasm32).

/** Length of the message body; requires NEED_BODY_LAZY or NEED_BODY_EAGER. */
@external("producer_hook", "body_len")
export declare function body_len(): i32;

/** Copies up to limit body bytes from off into buf; the count, 0 at the end, -1 on bad arguments. */
@external("producer_hook", "body_read")
export declare function body_read(off: i32, buf: usize, limit: i32): i32;

/** Looks up a property: -1 if absent, else the value's length, written to buf only if it fits. */
@external("producer_hook", "get_property")
export declare function get_property(name: usize, nameLen: i32, buf: usize, limit: i32): i32;

/** 1 if a message at level would be logged. */
@external("producer_hook", "log_enabled")
export declare function log_enabled(level: i32): i32;

/** Logs UTF-8 text through the host's logger named after the plugin. */
@external("producer_hook", "log")
export declare function log(level: i32, ptr: usize, len: i32): void;

/** Log levels (hclog's order). */
export const LEVEL_DEBUG: i32 = 2;
export const LEVEL_INFO: i32 = 3;

/** WASI preview 1: writes the iovecs at iovs to fd; the host routes a guest's stderr to its log. */
@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: i32, iovs: usize, iovsLen: i32, nwritten: usize): i32;

// One iovec {buf, len} and the count fd_write returns, in static memory.
const iov = memory.data(16);

/** Writes the n bytes at p to stderr (fd 2). */
export function stderr(p: usize, n: i32): void {
  store<u32>(iov, <u32>p);
  store<u32>(iov + 4, <u32>n);
  fd_write(2, iov, 1, iov + 8);
}
