// UTF-8 decoding over raw memory, for two jobs: Java's String.hashCode (which hashes UTF-16 code
// units, so the UTF-8 bytes of the view must be decoded and supplementary characters split into
// surrogate pairs) and checking that a body is valid UTF-8.

/** The code point U+FFFD that an invalid sequence decodes to (one per invalid byte). */
export const RUNE_ERROR: u32 = 0xfffd;

/** Width in bytes of the sequence decodeRune last read. */
export let runeWidth: i32 = 0;

/** Set by decodeRune when the sequence was a valid prefix cut short by the end. */
export let incomplete: bool = false;

/**
 * Decodes one UTF-8 sequence at p (end exclusive) and returns its code point, setting runeWidth.
 * An invalid sequence (overlong, surrogate, out of range, bad continuation) yields RUNE_ERROR with
 * width 1, as Go's utf8.DecodeRune does, so a key hashes the same here and in a Go guest. A valid
 * prefix cut short by end also yields RUNE_ERROR with width 1, and sets incomplete.
 */
export function decodeRune(p: usize, end: usize): u32 {
  incomplete = false;
  const b0 = <u32>load<u8>(p);
  if (b0 < 0x80) {
    runeWidth = 1;
    return b0;
  }
  let need: i32;
  let lo: u32 = 0x80;
  let hi: u32 = 0xbf;
  let cp: u32;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    need = 1;
    cp = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    cp = b0 & 0x0f;
    if (b0 == 0xe0) lo = 0xa0; // no overlong forms
    else if (b0 == 0xed) hi = 0x9f; // no surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xf0) lo = 0x90;
    else if (b0 == 0xf4) hi = 0x8f; // nothing past U+10FFFF
  } else {
    runeWidth = 1;
    return RUNE_ERROR;
  }
  for (let i = 1; i <= need; i++) {
    if (p + <usize>i >= end) {
      incomplete = true;
      runeWidth = 1;
      return RUNE_ERROR;
    }
    const b = <u32>load<u8>(p + <usize>i);
    if (b < lo || b > hi) {
      runeWidth = 1;
      return RUNE_ERROR;
    }
    lo = 0x80;
    hi = 0xbf;
    cp = (cp << 6) | (b & 0x3f);
  }
  runeWidth = need + 1;
  return cp;
}

/**
 * Java's String.hashCode of the string whose UTF-8 bytes are at p..p+n: h = 31*h + c over the
 * UTF-16 code units, with 32-bit wrap-around.
 */
export function javaHash(p: usize, n: i32): i32 {
  const end = p + <usize>n;
  let h: i32 = 0;
  while (p < end) {
    const cp = decodeRune(p, end);
    p += <usize>runeWidth;
    if (cp < 0x10000) {
      h = 31 * h + <i32>cp;
    } else {
      const v = cp - 0x10000;
      h = 31 * h + <i32>(0xd800 + (v >> 10));
      h = 31 * h + <i32>(0xdc00 + (v & 0x3ff));
    }
  }
  return h;
}

/**
 * Scans p..p+n for the first invalid UTF-8 sequence. Returns its offset, or -1 if all is valid,
 * or, when atEnd is false and the only problem is a sequence cut off by the end of the chunk, the
 * offset where that sequence starts, negated and minus 2 (so the caller reads again from there).
 */
export function checkUTF8(p: usize, n: i32, atEnd: bool): i32 {
  const start = p;
  const end = p + <usize>n;
  while (p < end) {
    if (load<u8>(p) < 0x80) {
      p++;
      continue;
    }
    const cp = decodeRune(p, end);
    if (cp == RUNE_ERROR && runeWidth == 1) {
      // U+FFFD itself is 3 bytes; width 1 means the sequence was invalid or cut short.
      if (incomplete && !atEnd) return -<i32>(p - start) - 2;
      return <i32>(p - start);
    }
    p += <usize>runeWidth;
  }
  return -1;
}
