// Replaces AssemblyScript's env.abort import (asconfig.json: "use": abort=...): the host provides
// no "env" module, and a module importing a function the host lacks does not load (docs/abi.md
// §7). It writes the message to stderr, which the host logs under the plugin's name, then traps,
// so the host discards the instance and applies the failure policy (§6). It allocates nothing:
// an abort may come from a failed allocation.

import { stderr } from "./host";

const LINE_CAP = 512;
const line = memory.data(LINE_CAP);

function put(n: i32, s: string): i32 {
  for (let i = 0; i < s.length && n < LINE_CAP - 1; i++) {
    const c = s.charCodeAt(i);
    store<u8>(line + <usize>n, c >= 0x20 && c < 0x7f ? <u8>c : 0x3f); // ASCII, else '?'
    n++;
  }
  return n;
}

function putNum(n: i32, v: u32): i32 {
  if (v >= 10) n = putNum(n, v / 10);
  if (n < LINE_CAP - 1) {
    store<u8>(line + <usize>n, <u8>(0x30 + v % 10));
    n++;
  }
  return n;
}

export function abortTrap(message: string | null, fileName: string | null, lineNumber: u32, column: u32): void {
  let n = put(0, "asgate: abort: ");
  if (message !== null) n = put(n, message);
  n = put(n, " at ");
  n = put(n, fileName !== null ? fileName : "?");
  n = put(n, ":");
  n = putNum(n, lineNumber);
  n = put(n, ":");
  n = putNum(n, column);
  store<u8>(line + <usize>n, 0x0a);
  stderr(line, n + 1);
  unreachable();
}
