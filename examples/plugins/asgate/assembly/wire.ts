// Hand-written protobuf wire format over raw guest memory (docs/abi.md §5.1): a reader that walks
// tags, varints and lengths in place, and a growable byte buffer that encodes. Neither allocates
// after it has grown to its working size, so hook_call allocates nothing.

/** Protobuf wire types used by ABI v1 and the ones a reader must be able to skip (§5.1). */
export const VARINT: u32 = 0;
export const I64: u32 = 1;
export const LEN: u32 = 2;
export const SGROUP: u32 = 3;
export const EGROUP: u32 = 4;
export const I32: u32 = 5;

/**
 * Reader walks one protobuf message at [pos, end) without copying. next() reads a tag into
 * field/wire; then the caller reads the payload with varint() or bytes() (which sets ptr/len), or
 * calls skip(). Any malformed input sets err (with a static reason) and stops the walk.
 */
export class Reader {
  pos: usize = 0;
  end: usize = 0;
  field: u32 = 0;
  wire: u32 = 0;
  ptr: usize = 0; // payload of the last bytes() call
  len: i32 = 0;
  err: string | null = null;

  reset(ptr: usize, len: i32): void {
    this.pos = ptr;
    this.end = ptr + <usize>len;
    this.err = null;
  }

  /** Reads the next tag; false at the end of the message or after an error. */
  next(): bool {
    if (this.err !== null || this.pos >= this.end) return false;
    const tag = this.varint();
    if (this.err !== null) return false;
    this.field = <u32>(tag >> 3);
    this.wire = <u32>(tag & 7);
    if (this.field == 0 || tag > 0xffffffff) {
      this.err = "bad field number";
      return false;
    }
    return true;
  }

  /** A base-128 varint of at most 10 bytes. */
  varint(): u64 {
    let v: u64 = 0;
    for (let shift: u64 = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) {
        this.err = "truncated varint";
        return 0;
      }
      const b = load<u8>(this.pos++);
      v |= (<u64>(b & 0x7f)) << shift;
      if ((b & 0x80) == 0) return v;
    }
    this.err = "varint longer than 10 bytes";
    return 0;
  }

  /** The payload of a LEN field: sets ptr and len. */
  bytes(): void {
    const n = this.varint();
    if (this.err !== null) return;
    if (n > <u64>(this.end - this.pos)) {
      this.err = "length past the end of the message";
      return;
    }
    this.ptr = this.pos;
    this.len = <i32>n;
    this.pos += <usize>n;
  }

  /** Skips the payload of the current field, whatever its wire type. */
  skip(): void {
    switch (this.wire) {
      case VARINT: this.varint(); break;
      case LEN: this.bytes(); break;
      case I64: this.fixed(8); break;
      case I32: this.fixed(4); break;
      case SGROUP: this.group(this.field); break;
      default: this.err = "unexpected wire type"; // EGROUP without a start, or 6 and 7
    }
  }

  private fixed(n: usize): void {
    if (this.end - this.pos < n) {
      this.err = "truncated fixed-size field";
      return;
    }
    this.pos += n;
  }

  // A (deprecated) group: fields until the matching end-group tag.
  private group(field: u32): void {
    while (this.next()) {
      if (this.wire == EGROUP) {
        if (this.field != field) this.err = "mismatched end group";
        return;
      }
      this.skip();
    }
    if (this.err === null) this.err = "unterminated group";
  }

  /** A varint field read as an unsigned 32-bit value (wire type checked). */
  u32(): u32 {
    if (this.wire != VARINT) {
      this.err = "wrong wire type for a varint field";
      return 0;
    }
    return <u32>this.varint();
  }

  /** A LEN field (wire type checked): sets ptr and len. */
  str(): void {
    if (this.wire != LEN) {
      this.err = "wrong wire type for a length-delimited field";
      return;
    }
    this.bytes();
  }
}

/** The number of bytes of v as a varint. */
export function varintLen(v: u64): i32 {
  let n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

/** Buf is a growable byte buffer in guest memory; reset() keeps its capacity. */
export class Buf {
  ptr: usize = 0;
  len: i32 = 0;
  cap: i32 = 0;

  reset(): void {
    this.len = 0;
  }

  /** Makes room for n more bytes. The old block is not freed (the stub runtime never frees). */
  grow(n: i32): void {
    if (this.len + n <= this.cap) return;
    let c = this.cap < 256 ? 256 : this.cap * 2;
    while (c < this.len + n) c *= 2;
    const p = heap.alloc(<usize>c);
    if (this.len > 0) memory.copy(p, this.ptr, <usize>this.len);
    this.ptr = p;
    this.cap = c;
  }

  byte(b: u32): void {
    this.grow(1);
    store<u8>(this.ptr + <usize>this.len, <u8>b);
    this.len++;
  }

  raw(p: usize, n: i32): void {
    if (n <= 0) return;
    this.grow(n);
    memory.copy(this.ptr + <usize>this.len, p, <usize>n);
    this.len += n;
  }

  /** Appends the UTF-8 bytes of an ASCII string literal (used for fixed texts). */
  ascii(s: string): void {
    const n = s.length;
    this.grow(n);
    for (let i = 0; i < n; i++) store<u8>(this.ptr + <usize>(this.len + i), <u8>s.charCodeAt(i));
    this.len += n;
  }

  /** Appends the contents of another buffer of UTF-8 (an ArrayBuffer kept from configuration). */
  buffer(b: ArrayBuffer): void {
    this.raw(changetype<usize>(b), b.byteLength);
  }

  /** Appends v in decimal. */
  decimal(v: u64): void {
    if (v >= 10) this.decimal(v / 10);
    this.byte(<u32>(v % 10) + 0x30);
  }

  varint(v: u64): void {
    while (v >= 0x80) {
      this.byte(<u32>(v & 0x7f) | 0x80);
      v >>= 7;
    }
    this.byte(<u32>v);
  }

  tag(field: u32, wire: u32): void {
    this.varint((<u64>field << 3) | <u64>wire);
  }

  /** A LEN field with the n bytes at p. */
  lenField(field: u32, p: usize, n: i32): void {
    this.tag(field, LEN);
    this.varint(<u64>n);
    this.raw(p, n);
  }

  /** A VARINT field. */
  varintField(field: u32, v: u64): void {
    this.tag(field, VARINT);
    this.varint(v);
  }
}

/** Packs a result for hook_call/hook_describe (§4): ptr in the high half, len in the low. */
export function packResult(ptr: usize, len: i32): i64 {
  return <i64>((<u64>ptr << 32) | <u64>(<u32>len & 0x7fffffff));
}

/** Packs an error result: the error flag (bit 31) set over the text's length. */
export function packError(ptr: usize, len: i32): i64 {
  return <i64>((<u64>ptr << 32) | <u64>(<u32>len & 0x7fffffff) | 0x80000000);
}
