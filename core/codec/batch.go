package codec

import (
	"encoding/binary"
	"fmt"

	"github.com/rocketsend/rocketsend/core/message"
)

// batchRecordOverhead is the fixed part of a batch record: TOTALSIZE, MAGICCODE, BODYCRC, FLAG,
// BODYLEN and PROPLEN.
const batchRecordOverhead = 4 + 4 + 4 + 4 + 4 + 2

// BatchRecordSize returns the number of bytes AppendBatchRecord writes for m, so a producer can
// split a batch at maxMessageSize without encoding it first.
func BatchRecordSize(m *message.Message) int {
	if m == nil {
		return 0
	}
	return BatchRecordSizeOf(len(m.Body), PropertiesLen(m.Properties))
}

// BatchRecordSizeOf is BatchRecordSize for a message whose body and properties take bodyLen and
// propsLen bytes (PropertiesInfo.Len).
func BatchRecordSizeOf(bodyLen, propsLen int) int { return batchRecordOverhead + bodyLen + propsLen }

// AppendBatchRecord appends m as one record of a SEND_BATCH_MESSAGE body (Java
// MessageDecoder.encodeMessage):
//
//	TOTALSIZE | MAGICCODE 0 | BODYCRC 0 | FLAG | BODYLEN body | PROPLEN properties
//
// The broker recomputes the CRC and ignores the magic, so both are 0, as Java sends them. The
// topic is not in the record; it travels once in the request header. The body is written as is:
// batches are never compressed.
//
// m must have passed ValidateMessage: properties longer than MaxPropertiesLength cannot be
// represented and are written with their length truncated to 16 bits, as Java's (short) cast
// does, which the broker rejects. A nil m appends nothing.
func AppendBatchRecord(dst []byte, m *message.Message) []byte {
	if m == nil {
		return dst
	}
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, 0) // TOTALSIZE, patched below
	dst = binary.BigEndian.AppendUint32(dst, 0) // MAGICCODE
	dst = binary.BigEndian.AppendUint32(dst, 0) // BODYCRC
	dst = binary.BigEndian.AppendUint32(dst, uint32(m.Flag))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(m.Body)))
	dst = append(dst, m.Body...)
	propAt := len(dst)
	dst = append(dst, 0, 0) // PROPLEN, patched below
	// Patching after one pass over the map avoids walking it twice (PropertiesLen + append).
	dst = AppendProperties(dst, m.Properties)
	binary.BigEndian.PutUint16(dst[propAt:], uint16(len(dst)-propAt-2))
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst
}

// EncodeBatch appends the batch body for msgs to dst: their records back to back, in order, so
// that the broker's comma-joined offsetMsgIds line up with msgs. It grows dst once. Nil messages
// are skipped (ValidateMessage rejects them).
func EncodeBatch(dst []byte, msgs []*message.Message) []byte {
	n := 0
	for _, m := range msgs {
		n += BatchRecordSize(m)
	}
	if cap(dst)-len(dst) < n {
		grown := make([]byte, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	for _, m := range msgs {
		dst = AppendBatchRecord(dst, m)
	}
	return dst
}

// DecodeBatch parses a SEND_BATCH_MESSAGE body into its messages (Java MessageDecoder.decodeMessages)
// for tests and the fault-injection fake broker. Checks are stricter than Java's: every length must
// be non-negative, fit in what remains and add up to TOTALSIZE. Errors are *RecordError values
// naming the record, byte offset and field.
//
// The messages' Topic is empty (the header carries it). Bodies alias body: copy them before
// reusing the buffer.
func DecodeBatch(body []byte) ([]*message.Message, error) {
	var out []*message.Message
	for off, idx := 0, 0; off < len(body); idx++ {
		m, n, err := decodeBatchRecord(body[off:], off, idx)
		if err != nil {
			return nil, err
		}
		if out == nil {
			// A lower bound from the first record size; saves regrowing for uniform batches.
			out = make([]*message.Message, 0, min(len(body)/n, 1024))
		}
		out = append(out, m)
		off += n
	}
	return out, nil
}

func decodeBatchRecord(b []byte, base, idx int) (*message.Message, int, error) {
	fail := func(at int, field, format string, args ...any) (*message.Message, int, error) {
		return nil, 0, &RecordError{Kind: "batch record", Index: idx, Offset: base + at, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if len(b) < 4 {
		return fail(0, "TOTALSIZE", "need 4 bytes, %d left", len(b))
	}
	total := int32(binary.BigEndian.Uint32(b))
	if total < batchRecordOverhead {
		return fail(0, "TOTALSIZE", "%d is smaller than the %d-byte minimum record", total, batchRecordOverhead)
	}
	if int64(total) > int64(len(b)) {
		return fail(0, "TOTALSIZE", "%d exceeds the %d bytes left", total, len(b))
	}
	rec := b[:total]
	flag := int32(binary.BigEndian.Uint32(rec[12:]))
	bodyLen := int32(binary.BigEndian.Uint32(rec[16:]))
	if bodyLen < 0 {
		return fail(16, "BODYLEN", "%d is negative", bodyLen)
	}
	if int64(bodyLen) > int64(total)-batchRecordOverhead {
		return fail(16, "BODYLEN", "%d does not fit in TOTALSIZE %d", bodyLen, total)
	}
	bodyEnd := 20 + int(bodyLen)
	propLen := int16(binary.BigEndian.Uint16(rec[bodyEnd:]))
	if propLen < 0 {
		return fail(bodyEnd, "PROPLEN", "%d is negative", propLen)
	}
	if want := batchRecordOverhead + int(bodyLen) + int(propLen); want != int(total) {
		return fail(0, "TOTALSIZE", "%d does not match the %d bytes its BODYLEN %d and PROPLEN %d imply", total, want, bodyLen, propLen)
	}
	m := &message.Message{Flag: flag}
	if bodyLen > 0 {
		m.Body = rec[20:bodyEnd:bodyEnd]
	}
	m.Properties = DecodePropertiesBytes(rec[bodyEnd+2:])
	return m, int(total), nil
}
