// asgate: a rocketsend ABI v1 plugin (docs/abi.md) written in AssemblyScript, to show that the ABI
// is language-neutral. It guards the topics "orders" and "payments":
//
//   CHECK_FORBIDDEN  forbids, with a reason, by tag deny-list, missing keys, body size, and
//                    (reading the body through body_len/body_read) a body that is not UTF-8;
//   BEFORE_SEND      stamps gated_by=<stamp>, fills in a default priority when get_property says
//                    there is none, and forbids a priority outside the configured list;
//   SELECT_QUEUE     picks the queue by Java's String.hashCode of the select arg or the first key,
//                    as RocketMQ's SelectMessageQueueByHash does.
//
// Every input is read in place from the scratch buffer with the hand-written protobuf reader of
// wire.ts; results are encoded into a reusable buffer. After hook_init nothing is allocated.

import { Reader, Buf, LEN, varintLen, packResult, packError } from "./wire";
import * as host from "./host";
import * as cfg from "./config";
import { javaHash, checkUTF8 } from "./utf8";
// The replacement of env.abort (asconfig.json "use"), loaded so the compiler finds it.
import "./abort";

// HookPoint (§5.2).
const BEFORE_SEND = 1;
const CHECK_FORBIDDEN = 3;
const SELECT_QUEUE = 4;
// Need (§5.2).
const NEED_BODY_LAZY = 4;

const NAME = "asgate";
const VERSION = "1.0.0";

// The per-instance buffers: the scratch buffer the host writes inputs into, the result buffer,
// texts being built, a property value, and a chunk of body. All reused across calls.
let scratchPtr: usize = 0;
let scratchCap: i32 = 0;
const out = new Buf();
const reason = new Buf();
const text = new Buf();
const value = new Buf();
const BODY_CHUNK = 4096;
const bodyBuf = heap.alloc(BODY_CHUNK);
const PRIORITY = String.UTF8.encode("priority");
const GATED_BY = String.UTF8.encode("gated_by");
const view = new Reader();

// The fields of the current MessageView that the hooks use: pointers into the scratch buffer.
let topicP: usize = 0;
let topicN: i32 = 0;
let tagsP: usize = 0;
let tagsN: i32 = 0;
let keysP: usize = 0;
let keysN: i32 = 0;
let argP: usize = 0;
let argN: i32 = 0;
let hasArg = false;
let bodySize: u64 = 0;
let queueCount: u32 = 0;

/** The ABI v1 marker; never called. */
export function producer_hook_abi_v1(): void {}

/**
 * Returns a buffer of at least minLen bytes for the host's inputs. A larger request allocates a
 * new buffer; the old one is simply abandoned (the stub runtime never frees), which is rare and
 * bounded by the largest view.
 */
export function hook_scratch(minLen: i32): usize {
  if (minLen < 0) return 0;
  if (scratchPtr == 0 || minLen > scratchCap) {
    const c = minLen > 4096 ? minLen : 4096;
    scratchPtr = heap.alloc(<usize>c);
    scratchCap = c;
  }
  return scratchPtr;
}

/** HookInfo (§5.3): name, version, points, needs and the topic filter. */
export function hook_describe(): i64 {
  out.reset();
  asciiField(1, NAME);
  asciiField(2, VERSION);
  // points, packed
  out.tag(3, LEN);
  out.varint(3);
  out.byte(CHECK_FORBIDDEN);
  out.byte(BEFORE_SEND);
  out.byte(SELECT_QUEUE);
  // needs, packed: the body, only read when text_body=true
  out.tag(4, LEN);
  out.varint(1);
  out.byte(NEED_BODY_LAZY);
  // topics (without namespace): HookInfo is asked for before hook_init, so it cannot depend on
  // the configuration
  asciiField(5, "orders");
  asciiField(5, "payments");
  return packResult(out.ptr, out.len);
}

/**
 * Reads the HookConfig the host wrote into the scratch buffer. A bad configuration is refused
 * with 1, and the reason goes to stderr, which the host logs under the plugin's name (the
 * producer_hook imports, log included, do not work during hook_init).
 */
export function hook_init(cfgLen: i32): i32 {
  let err: string | null = null;
  if (cfgLen < 0 || cfgLen > scratchCap) err = "configuration length outside the scratch buffer";
  else err = cfg.configure(scratchPtr, cfgLen);
  if (err === null) return 0;
  const b = String.UTF8.encode(NAME + ": configuration rejected: " + err + "\n");
  host.stderr(changetype<usize>(b), b.byteLength);
  return 1;
}

/** One hook call on the MessageView of viewLen bytes in the scratch buffer. */
export function hook_call(point: i32, viewLen: i32): i64 {
  if (viewLen < 0 || viewLen > scratchCap) return fail("view length outside the scratch buffer", null);
  const err = readView(viewLen);
  if (err !== null) return fail("malformed MessageView: ", err);
  switch (point) {
    case CHECK_FORBIDDEN: return checkForbidden();
    case BEFORE_SEND: return beforeSend();
    case SELECT_QUEUE: return selectQueue();
  }
  return 0; // a point this plugin did not declare: allow, no change
}

function readView(n: i32): string | null {
  topicN = tagsN = keysN = argN = 0;
  hasArg = false;
  bodySize = 0;
  queueCount = 0;
  view.reset(scratchPtr, n);
  while (view.next()) {
    switch (view.field) {
      case 1: // topic
        view.str();
        topicP = view.ptr;
        topicN = view.len;
        break;
      case 2: // tags
        view.str();
        tagsP = view.ptr;
        tagsN = view.len;
        break;
      case 3: // keys
        view.str();
        keysP = view.ptr;
        keysN = view.len;
        break;
      case 5: // body_size
        bodySize = view.u32();
        break;
      case 16: // queue_count
        queueCount = view.u32();
        break;
      case 17: // select_arg (optional: present even when empty)
        view.str();
        argP = view.ptr;
        argN = view.len;
        hasArg = true;
        break;
      default:
        view.skip(); // fields this plugin does not use, and future ones (§7)
    }
  }
  return view.err;
}

// CHECK_FORBIDDEN: the first rule that matches forbids, with its reason.
function checkForbidden(): i64 {
  reason.reset();
  if (cfg.maxBody >= 0 && bodySize > <u64>cfg.maxBody) {
    reason.ascii("body of ");
    reason.decimal(bodySize);
    reason.ascii(" bytes exceeds max_body=");
    reason.decimal(<u64>cfg.maxBody);
  } else if (cfg.denyTags.length > 0 && deniedTag()) {
    // deniedTag wrote the reason
  } else if (cfg.requireKeys && firstKey() < 0) {
    reason.ascii("message has no keys");
  } else if (cfg.textBody) {
    const r = checkBody();
    if (r != 0) return r;
  }
  if (reason.len == 0) return 0;
  return forbid();
}

// Whether one of the message's tags ("a||b", each trimmed) is denied; writes the reason.
function deniedTag(): bool {
  const end = tagsP + <usize>tagsN;
  let p = tagsP;
  while (p <= end) {
    let q = p;
    while (q < end && !(load<u8>(q) == 0x7c && q + 1 < end && load<u8>(q + 1) == 0x7c)) q++;
    let a = p;
    let b = q;
    while (a < b && load<u8>(a) == 0x20) a++;
    while (b > a && load<u8>(b - 1) == 0x20) b--;
    if (b > a && cfg.indexOfBytes(cfg.denyTags, a, <i32>(b - a)) >= 0) {
      reason.ascii("tag \"");
      reason.raw(a, <i32>(b - a));
      reason.ascii("\" is denied");
      return true;
    }
    p = q + 2;
  }
  return false;
}

// Reads the body in chunks through body_read and checks it is valid UTF-8. Returns 0 (reason
// written if invalid) or an error result when the host breaks the body_read contract.
function checkBody(): i64 {
  const total = host.body_len();
  let off = 0;
  while (off < total) {
    const got = host.body_read(off, bodyBuf, BODY_CHUNK);
    if (got <= 0) return fail("body_read returned no bytes before the end of the body", null);
    const atEnd = off + got >= total;
    const r = checkUTF8(bodyBuf, got, atEnd);
    if (r == -1) {
      off += got;
      continue;
    }
    let bad = r;
    if (r < -1) {
      // a sequence cut by the chunk's end: read again from its first byte
      const at = -(r + 2);
      if (at > 0) {
        off += at;
        continue;
      }
      bad = 0; // a chunk too short to hold one sequence: cannot happen with a correct host
    }
    reason.ascii("body is not valid UTF-8 (byte ");
    reason.decimal(<u64>(off + bad));
    reason.ascii(")");
    return 0;
  }
  return 0;
}

// BEFORE_SEND: the priority rule, then the stamp.
function beforeSend(): i64 {
  out.reset();
  let n = getProperty(PRIORITY);
  if (n < 0) {
    if (cfg.defaultPriority !== null) edit(PRIORITY, changetype<usize>(cfg.defaultPriority!), cfg.defaultPriority!.byteLength);
  } else if (cfg.priorities.length > 0 && cfg.indexOfBytes(cfg.priorities, value.ptr, n) < 0) {
    reason.reset();
    reason.ascii("priority \"");
    reason.raw(value.ptr, n);
    reason.ascii("\" is not one of ");
    for (let i = 0; i < cfg.priorities.length; i++) {
      if (i > 0) reason.ascii(", ");
      reason.buffer(cfg.priorities[i]);
    }
    return forbid();
  }
  edit(GATED_BY, changetype<usize>(cfg.stamp), cfg.stamp.byteLength);
  return packResult(out.ptr, out.len);
}

// get_property into value: -1 if absent, else the length. A value longer than the buffer is
// not written; the host tells its length, and the second call has room (§3).
function getProperty(name: ArrayBuffer): i32 {
  value.reset();
  value.grow(64);
  const np = changetype<usize>(name);
  let n = host.get_property(np, name.byteLength, value.ptr, value.cap);
  if (n > value.cap) {
    value.grow(n);
    n = host.get_property(np, name.byteLength, value.ptr, value.cap);
  }
  return n;
}

// Appends a PropertyEdit {1: name, 2: value} (Decision field 3) to out.
function edit(name: ArrayBuffer, vp: usize, vn: i32): void {
  const nn = name.byteLength;
  out.tag(3, LEN);
  out.varint(<u64>(1 + varintLen(<u64>nn) + nn + 1 + varintLen(<u64>vn) + vn));
  out.lenField(1, changetype<usize>(name), nn);
  out.lenField(2, vp, vn);
}

// SELECT_QUEUE: Java's String.hashCode of the select arg or the first key, modulo the number of
// offered queues, negated when negative (RocketMQ's SelectMessageQueueByHash).
function selectQueue(): i64 {
  if (queueCount == 0) return 0;
  let p: usize = 0;
  let n: i32 = -1;
  if (cfg.source != cfg.SOURCE_KEYS && hasArg) {
    p = argP;
    n = argN;
  } else if (cfg.source != cfg.SOURCE_ARG) {
    n = firstKey();
    p = keyP;
  }
  if (n < 0) return 0; // nothing to hash: the built-in selector decides
  let idx = javaHash(p, n) % <i32>queueCount;
  if (idx < 0) idx = -idx;
  if (host.log_enabled(host.LEVEL_DEBUG) == 1) {
    text.reset();
    text.ascii("queue ");
    text.decimal(<u64>idx);
    text.ascii(" of ");
    text.decimal(<u64>queueCount);
    text.ascii(" for \"");
    text.raw(p, n);
    text.ascii("\"");
    host.log(host.LEVEL_DEBUG, text.ptr, text.len);
  }
  out.reset();
  out.varintField(8, <u64>idx);
  return packResult(out.ptr, out.len);
}

// The first space-separated key: its length (keyP set), or -1 if the message has none.
let keyP: usize = 0;
function firstKey(): i32 {
  const end = keysP + <usize>keysN;
  let p = keysP;
  while (p < end && load<u8>(p) == 0x20) p++;
  if (p == end) return -1;
  let q = p;
  while (q < end && load<u8>(q) != 0x20) q++;
  keyP = p;
  return <i32>(q - p);
}

// A FORBID Decision with the reason, logged at info when the host logs that level.
function forbid(): i64 {
  out.reset();
  out.varintField(1, 1); // verdict FORBID
  out.lenField(2, reason.ptr, reason.len);
  if (host.log_enabled(host.LEVEL_INFO) == 1) {
    text.reset();
    text.ascii("forbidden send to ");
    text.raw(topicP, topicN);
    text.ascii(": ");
    text.raw(reason.ptr, reason.len);
    host.log(host.LEVEL_INFO, text.ptr, text.len);
  }
  return packResult(out.ptr, out.len);
}

// An error result (§4): the call failed and the host applies the plugin's failure policy.
function fail(msg: string, detail: string | null): i64 {
  text.reset();
  text.ascii(msg);
  if (detail !== null) text.ascii(detail);
  return packError(text.ptr, text.len);
}

function asciiField(field: u32, s: string): void {
  out.tag(field, LEN);
  out.varint(<u64>s.length);
  out.ascii(s);
}
