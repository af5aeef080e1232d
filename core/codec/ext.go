package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// ExtWriter receives the fields of a typed header and writes them straight into a frame in the
// frame's header format (binary, JSON), or collects them as Fields for hooks that need them.
//
// Empty strings are skipped in every mode: the binary format cannot tell an empty value from an
// absent one, and keeping both formats alike means a header means the same thing either way.
type ExtWriter struct {
	buf    []byte
	mode   uint8
	n      int // fields written, for JSON commas
	fields []Field
	err    error // first field the format cannot carry
}

// ExtWriter modes. The binary one is the zero value and the send path: it is tested first.
const (
	extBinary uint8 = iota
	extJSON
	extCollect
)

// String writes a string field; an empty value is omitted.
func (w *ExtWriter) String(key, value string) {
	if value == "" || key == "" {
		return
	}
	if w.mode != extBinary {
		w.otherString(key, value)
		return
	}
	if len(key) > math.MaxInt16 {
		w.keyTooLong(key)
		return
	}
	// One capacity check for the whole entry: short key length, key, int value length, value.
	n := len(w.buf)
	b := slices.Grow(w.buf, 6+len(key)+len(value))[:n+6+len(key)+len(value)]
	n = putBinaryKey(b, n, key)
	binary.BigEndian.PutUint32(b[n:], uint32(len(value)))
	copy(b[n+4:], value)
	w.buf = b
}

// properties writes the properties field: s, or when s is empty the wire form of m sorted by name
// (AppendPropertiesSorted), encoded in place without building the string; nothing when both are
// empty.
func (w *ExtWriter) properties(key, s string, m map[string]string) {
	if s != "" || len(m) == 0 || key == "" {
		w.String(key, s)
		return
	}
	switch w.mode {
	case extBinary:
		if len(key) > math.MaxInt16 {
			w.keyTooLong(key)
			return
		}
		n := len(w.buf)
		b := slices.Grow(w.buf, 6+len(key)+PropertiesLen(m))[:n+2+len(key)]
		at := putBinaryKey(b, n, key)
		w.buf = AppendPropertiesSorted(append(b, 0, 0, 0, 0), m)
		if vl := len(w.buf) - at - 4; vl > 0 {
			binary.BigEndian.PutUint32(w.buf[at:], uint32(vl))
		} else {
			w.buf = w.buf[:n] // no non-empty entry: omitted, as an empty string is
		}
	case extJSON:
		if PropertiesLen(m) == 0 {
			return
		}
		w.jsonKey(key)
		w.buf = appendJSONProperties(w.buf, m)
	default:
		w.String(key, string(AppendPropertiesSorted(nil, m)))
	}
}

// Int writes an integer field in decimal, as Java's toString does.
func (w *ExtWriter) Int(key string, v int64) {
	if key == "" {
		return
	}
	if w.mode != extBinary {
		w.otherInt(key, v)
		return
	}
	if len(key) > math.MaxInt16 {
		w.keyTooLong(key)
		return
	}
	n := len(w.buf)
	b := slices.Grow(w.buf, 6+len(key)+20)[:n+6+len(key)]
	at := putBinaryKey(b, n, key)
	if uint64(v) < 10 { // most header integers are single digits
		b = append(b, byte('0'+v))
	} else {
		b = strconv.AppendInt(b, v, 10)
	}
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	w.buf = b
}

// Bool writes "true" or "false".
func (w *ExtWriter) Bool(key string, v bool) {
	if v {
		w.String(key, "true")
	} else {
		w.String(key, "false")
	}
}

// putBinaryKey writes key with its short length at b[n:] and returns the offset after it. The
// one-letter keys of SEND_MESSAGE_V2 skip the memmove call.
func putBinaryKey(b []byte, n int, key string) int {
	binary.BigEndian.PutUint16(b[n:], uint16(len(key)))
	if len(key) == 1 {
		b[n+2] = key[0]
		return n + 3
	}
	return n + 2 + copy(b[n+2:], key)
}

// keyTooLong records a key longer than 32767 bytes, which a binary header would carry as a
// negative Java short; the frame encoder reports it.
func (w *ExtWriter) keyTooLong(key string) {
	if w.err == nil {
		w.err = fmt.Errorf("codec: ext key of %d bytes does not fit the ROCKETMQ binary header", len(key))
	}
}

func (w *ExtWriter) otherString(key, value string) {
	if w.mode == extCollect {
		w.fields = append(w.fields, Field{key, value})
		return
	}
	w.jsonKey(key)
	w.buf = appendJSONString(w.buf, value)
}

func (w *ExtWriter) otherInt(key string, v int64) {
	if w.mode == extCollect {
		w.fields = append(w.fields, Field{key, strconv.FormatInt(v, 10)})
		return
	}
	w.jsonKey(key)
	w.buf = append(w.buf, '"')
	w.buf = strconv.AppendInt(w.buf, v, 10)
	w.buf = append(w.buf, '"')
}

// appendJSONProperties appends the wire form of m, sorted by name, as one JSON string: what
// appendJSONString(dst, string(AppendPropertiesSorted(nil, m))) writes, without the string.
func appendJSONProperties(dst []byte, m map[string]string) []byte {
	dst = append(dst, '"')
	forSorted(m, func(k, v string) {
		dst = appendJSONChars(dst, k)
		dst = append(dst, `\u0001`...)
		dst = appendJSONChars(dst, v)
		dst = append(dst, `\u0002`...)
	})
	return append(dst, '"')
}

func (w *ExtWriter) jsonKey(key string) {
	if w.n > 0 {
		w.buf = append(w.buf, ',')
	}
	w.n++
	w.buf = appendJSONString(w.buf, key)
	w.buf = append(w.buf, ':')
}

// command writes c's typed header, then its extra fields.
//
// The package's own headers are called statically: passing &w through the HeaderEncoder interface
// would make the compiler move every caller's ExtWriter to the heap, one allocation per frame on
// the send path. Other HeaderEncoders go through encodeDynamic, which pays that allocation alone.
func (w *ExtWriter) command(c *Command) {
	switch h := c.Header.(type) {
	case nil:
	case *SendMessageRequestHeaderV2:
		h.EncodeExt(w)
	case *SendMessageRequestHeader:
		h.EncodeExt(w)
	case *SendMessageResponseHeader:
		h.EncodeExt(w)
	case *GetRouteInfoRequestHeader:
		h.EncodeExt(w)
	case *EndTransactionRequestHeader:
		h.EncodeExt(w)
	case *CheckTransactionStateRequestHeader:
		h.EncodeExt(w)
	case *ReplyMessageRequestHeader:
		h.EncodeExt(w)
	case *UnregisterClientRequestHeader:
		h.EncodeExt(w)
	case *QueueRequestHeader:
		h.EncodeExt(w)
	case *GetMaxOffsetRequestHeader:
		h.EncodeExt(w)
	case *SearchOffsetRequestHeader:
		h.EncodeExt(w)
	case *ViewMessageRequestHeader:
		h.EncodeExt(w)
	case *QueryMessageRequestHeader:
		h.EncodeExt(w)
	case *PullMessageRequestHeader:
		h.EncodeExt(w)
	case *CreateTopicRequestHeader:
		h.EncodeExt(w)
	case Fields:
		h.EncodeExt(w)
	default:
		*w = encodeDynamic(h, *w)
	}
	for _, f := range c.Ext {
		w.String(f.Key, f.Value)
	}
}

// encodeDynamic calls a HeaderEncoder the package does not know on a heap copy of w.
//
//go:noinline
func encodeDynamic(h HeaderEncoder, w ExtWriter) ExtWriter {
	h.EncodeExt(&w)
	return w
}

// Fields is a HeaderEncoder for ad-hoc headers given as key/value pairs.
type Fields []Field

// EncodeExt implements HeaderEncoder.
func (fs Fields) EncodeExt(w *ExtWriter) {
	for _, f := range fs {
		w.String(f.Key, f.Value)
	}
}
