// The plugin's configuration: decoded from HookConfig (docs/abi.md §5.4) in hook_init, checked,
// and kept as UTF-8 buffers so hook_call compares bytes in place without allocating.
//
// Keys (from HookConfig.config as "key=value" lines, then HookConfig.settings, a later value
// winning):
//   deny_tags=a,b            CHECK_FORBIDDEN forbids a message carrying one of these tags
//   require_keys=true|false  CHECK_FORBIDDEN forbids a message without keys (default false)
//   max_body=<bytes>         CHECK_FORBIDDEN forbids a larger body (default: no limit)
//   text_body=true|false     CHECK_FORBIDDEN forbids a body that is not valid UTF-8 (default false)
//   stamp=<value>            BEFORE_SEND sets property gated_by=<value> (default "asgate")
//   default_priority=<p>     BEFORE_SEND sets property priority=<p> when the message has none
//   priorities=a,b           BEFORE_SEND forbids a priority property outside this list
//   source=auto|arg|keys     SELECT_QUEUE hashes the select arg, the first key, or the arg when
//                            the send has one and else the first key (default auto)

import { Reader } from "./wire";

export const SOURCE_AUTO = 0;
export const SOURCE_ARG = 1;
export const SOURCE_KEYS = 2;

export let denyTags: ArrayBuffer[] = [];
export let requireKeys = false;
export let maxBody: i64 = -1;
export let textBody = false;
export let stamp: ArrayBuffer = String.UTF8.encode("asgate");
export let defaultPriority: ArrayBuffer | null = null;
export let priorities: ArrayBuffer[] = [];
export let source = SOURCE_AUTO;

const KNOWN = "deny_tags, require_keys, max_body, text_body, stamp, default_priority, priorities, source";

/**
 * Decodes the HookConfig at p..p+n and applies it. Returns null on success, or a sentence naming
 * the setting that is wrong and why.
 */
export function configure(p: usize, n: i32): string | null {
  const kv = new Map<string, string>();
  const order: string[] = [];
  const r = new Reader();
  const entry = new Reader();
  r.reset(p, n);
  while (r.next()) {
    if (r.field == 1) {
      // config: "key=value" lines
      r.str();
      if (r.err !== null) break;
      const text = String.UTF8.decodeUnsafe(r.ptr, <usize>r.len);
      const lines = text.split("\n");
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i].trim();
        if (line.length == 0 || line.startsWith("#")) continue;
        const eq = line.indexOf("=");
        if (eq <= 0) return "config line " + (i + 1).toString() + " \"" + line + "\" is not key=value";
        put(kv, order, line.substring(0, eq).trim(), line.substring(eq + 1).trim());
      }
    } else if (r.field == 2) {
      // settings: map<string,string> entries {1: key, 2: value}
      r.str();
      if (r.err !== null) break;
      entry.reset(r.ptr, r.len);
      let key = "";
      let value = "";
      while (entry.next()) {
        if (entry.field == 1 || entry.field == 2) {
          entry.str();
          if (entry.err !== null) break;
          const s = String.UTF8.decodeUnsafe(entry.ptr, <usize>entry.len);
          if (entry.field == 1) key = s;
          else value = s;
        } else {
          entry.skip();
        }
      }
      if (entry.err !== null) return "malformed HookConfig settings entry: " + entry.err!;
      put(kv, order, key, value);
    } else {
      r.skip();
    }
  }
  if (r.err !== null) return "malformed HookConfig: " + r.err!;

  for (let i = 0; i < order.length; i++) {
    const k = order[i];
    const v = kv.get(k);
    const err = apply(k, v);
    if (err !== null) return err;
  }
  if (defaultPriority !== null && priorities.length > 0 && !contains(priorities, defaultPriority!)) {
    return "default_priority \"" + String.UTF8.decode(defaultPriority!) + "\" is not in priorities";
  }
  return null;
}

function put(kv: Map<string, string>, order: string[], k: string, v: string): void {
  if (!kv.has(k)) order.push(k);
  kv.set(k, v);
}

function apply(k: string, v: string): string | null {
  if (k == "deny_tags") {
    denyTags = list(v);
  } else if (k == "priorities") {
    priorities = list(v);
  } else if (k == "require_keys" || k == "text_body") {
    if (v != "true" && v != "false") return k + "=\"" + v + "\": want true or false";
    if (k == "require_keys") requireKeys = v == "true";
    else textBody = v == "true";
  } else if (k == "max_body") {
    if (v.length == 0 || v.length > 10) return "max_body=\"" + v + "\": want a number of bytes";
    let n: i64 = 0;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return "max_body=\"" + v + "\": want a number of bytes";
      n = n * 10 + <i64>(c - 0x30);
    }
    maxBody = n;
  } else if (k == "stamp" || k == "default_priority") {
    if (v.length == 0) return k + " must not be empty (RocketMQ drops empty property values)";
    if (v.includes("\x01") || v.includes("\x02")) return k + " must not contain the bytes 0x01 or 0x02";
    if (k == "stamp") stamp = String.UTF8.encode(v);
    else defaultPriority = String.UTF8.encode(v);
  } else if (k == "source") {
    if (v == "auto") source = SOURCE_AUTO;
    else if (v == "arg") source = SOURCE_ARG;
    else if (v == "keys") source = SOURCE_KEYS;
    else return "source=\"" + v + "\": want auto, arg or keys";
  } else {
    return "unknown setting \"" + k + "\" (known: " + KNOWN + ")";
  }
  return null;
}

// A comma-separated list, items trimmed, empty items dropped.
function list(v: string): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  const parts = v.split(",");
  for (let i = 0; i < parts.length; i++) {
    const s = parts[i].trim();
    if (s.length > 0) out.push(String.UTF8.encode(s));
  }
  return out;
}

/** Whether list holds a buffer with the same bytes as b. */
export function contains(list: ArrayBuffer[], b: ArrayBuffer): bool {
  return indexOfBytes(list, changetype<usize>(b), b.byteLength) >= 0;
}

/** The index in list of the bytes p..p+n, or -1. */
export function indexOfBytes(list: ArrayBuffer[], p: usize, n: i32): i32 {
  for (let i = 0; i < list.length; i++) {
    const b = unchecked(list[i]);
    if (b.byteLength == n && memory.compare(changetype<usize>(b), p, <usize>n) == 0) return i;
  }
  return -1;
}
