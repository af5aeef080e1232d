package hookv1

import (
	"errors"
	"fmt"
	"math/bits"
)

// Protobuf wire types (https://protobuf.dev/programming-guides/encoding/).
const (
	wireVarint = 0
	wireI64    = 1
	wireBytes  = 2
	wireSGroup = 3
	wireEGroup = 4
	wireI32    = 5
)

// ErrMalformed is wrapped by every decoding error: the bytes are not the protobuf encoding of the
// expected message.
var ErrMalformed = errors.New("hookv1: malformed protobuf")

func malformed(msg string, field uint64, off int) error {
	return fmt.Errorf("%w: %s (field %d, offset %d)", ErrMalformed, msg, field, off)
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func sizeVarint(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

func appendTag(b []byte, num int, typ int) []byte { return appendVarint(b, uint64(num)<<3|uint64(typ)) }

func appendStringField(b []byte, num int, s string) []byte {
	if s == "" {
		return b
	}
	b = appendTag(b, num, wireBytes)
	b = appendVarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendStringAlways writes the field even when s is empty (explicit presence).
func appendStringAlways(b []byte, num int, s string) []byte {
	b = appendTag(b, num, wireBytes)
	b = appendVarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytesField(b []byte, num int, p []byte) []byte {
	if len(p) == 0 {
		return b
	}
	b = appendTag(b, num, wireBytes)
	b = appendVarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendUintField(b []byte, num int, v uint64) []byte {
	if v == 0 {
		return b
	}
	return appendVarint(appendTag(b, num, wireVarint), v)
}

// appendIntField writes an int32/int64 field: negative values are sign-extended to 64 bits
// (10 bytes on the wire), as protobuf int32 and int64 are.
func appendIntField(b []byte, num int, v int64) []byte {
	return appendUintField(b, num, uint64(v))
}

func sizeStringField(num int, s string) int {
	if s == "" {
		return 0
	}
	return sizeVarint(uint64(num)<<3) + sizeVarint(uint64(len(s))) + len(s)
}

func sizeUintField(num int, v uint64) int {
	if v == 0 {
		return 0
	}
	return sizeVarint(uint64(num)<<3) + sizeVarint(v)
}

// consumeVarint reads a varint at b[i:]. It returns the value and the index after it, or n < 0 if
// the varint is truncated or longer than 10 bytes.
func consumeVarint(b []byte, i int) (v uint64, n int) {
	if i < len(b) && b[i] < 0x80 { // fast path: one byte
		return uint64(b[i]), i + 1
	}
	var shift uint
	for j := 0; j < 10; j++ {
		if i >= len(b) {
			return 0, -1
		}
		c := b[i]
		i++
		if j == 9 && c > 1 {
			return 0, -1 // overflows 64 bits
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, i
		}
		shift += 7
	}
	return 0, -1
}

// field is one decoded field: its number and wire type, its varint/fixed value, or for wireBytes
// the bounds [start, end) of its payload.
type field struct {
	num        uint64
	typ        int
	val        uint64
	start, end int
}

// next reads the field at b[i:]. It returns the index after the field, or an error. Groups are
// skipped whole (they are deprecated but legal in the wire format).
func next(b []byte, i int, f *field) (int, error) {
	at := i
	tag, i := consumeVarint(b, i)
	if i < 0 {
		return 0, malformed("truncated tag", 0, at)
	}
	f.num, f.typ = tag>>3, int(tag&7)
	if f.num == 0 || f.num > 1<<29-1 {
		return 0, malformed("invalid field number", f.num, at)
	}
	switch f.typ {
	case wireVarint:
		f.val, i = consumeVarint(b, i)
		if i < 0 {
			return 0, malformed("truncated varint", f.num, at)
		}
	case wireI64:
		if len(b)-i < 8 {
			return 0, malformed("truncated fixed64", f.num, at)
		}
		f.val = uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
			uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
		i += 8
	case wireI32:
		if len(b)-i < 4 {
			return 0, malformed("truncated fixed32", f.num, at)
		}
		f.val = uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24
		i += 4
	case wireBytes:
		var n uint64
		n, i = consumeVarint(b, i)
		if i < 0 {
			return 0, malformed("truncated length", f.num, at)
		}
		if n > uint64(len(b)-i) {
			return 0, malformed("length exceeds the buffer", f.num, at)
		}
		f.start, f.end = i, i+int(n)
		i = f.end
	case wireSGroup:
		return skipGroup(b, i, f.num, 0)
	default: // an end group without a start, or wire types 6 and 7
		return 0, malformed(fmt.Sprintf("unexpected wire type %d", f.typ), f.num, at)
	}
	return i, nil
}

const maxGroupDepth = 64

func skipGroup(b []byte, i int, num uint64, depth int) (int, error) {
	if depth >= maxGroupDepth {
		return 0, malformed("groups nested too deep", num, i)
	}
	for {
		if i >= len(b) {
			return 0, malformed("unterminated group", num, i)
		}
		at := i
		tag, j := consumeVarint(b, i)
		if j < 0 {
			return 0, malformed("truncated tag", num, at)
		}
		if int(tag&7) == wireEGroup {
			if tag>>3 != num {
				return 0, malformed("mismatched end group", tag>>3, at)
			}
			return j, nil
		}
		if int(tag&7) == wireSGroup {
			if tag>>3 == 0 {
				return 0, malformed("invalid field number", 0, at)
			}
			var err error
			if i, err = skipGroup(b, j, tag>>3, depth+1); err != nil {
				return 0, err
			}
			continue
		}
		var f field
		var err error
		if i, err = next(b, at, &f); err != nil {
			return 0, err
		}
	}
}

func wantType(f *field, typ int, at int) error {
	if f.typ != typ {
		return malformed(fmt.Sprintf("wire type %d, want %d", f.typ, typ), f.num, at)
	}
	return nil
}
