package codec

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/netip"

	"github.com/rocketsend/rocketsend/core/message"
)

// Magic codes of a stored record (commit log, pull/query/view bodies, transaction check-back).
const (
	// MagicCodeV1 records carry a 1-byte topic length.
	MagicCodeV1 uint32 = 0xDAA320A7
	// MagicCodeV2 records carry a 2-byte topic length; brokers write them for topics over 127 bytes.
	MagicCodeV2 uint32 = 0xDAA320AB
	// MagicCodeBlank marks the unused tail of a commit-log file; it is never a message.
	MagicCodeBlank uint32 = 0xCBD43194
)

// storedMinSize is the smallest possible record: V1 magic, IPv4 hosts, empty body, topic and
// properties.
const storedMinSize = 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 4 + 8 + 4 + 1 + 2

// ErrMalformedRecord is wrapped by every *RecordError, so callers can test for corrupt input with
// errors.Is whatever the field. It wraps ErrMalformed, the one sentinel for corrupt input.
var ErrMalformedRecord = fmt.Errorf("%w (record)", ErrMalformed)

// RecordError reports input that a record decoder (stored messages, batch bodies) refused, with
// enough position detail to find the bad bytes in a capture.
type RecordError struct {
	// Kind is "stored message" or "batch record".
	Kind string
	// Index is the record's position in the input, from 0.
	Index int
	// Offset is the byte offset, in the whole input, of the field at fault.
	Offset int
	// Field is the field name as the RocketMQ layout spells it (TOTALSIZE, BODYLEN, PROPLEN, ...).
	Field string
	// Reason says what is wrong with the field.
	Reason string
	// Err is an underlying cause, such as a decompression error, or nil.
	Err error
}

// Error reads "codec: <kind> <index>: <FIELD> at byte <offset>: <reason>[: <cause>]".
func (e *RecordError) Error() string {
	s := fmt.Sprintf("codec: %s %d: %s at byte %d: %s", e.Kind, e.Index, e.Field, e.Offset, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes ErrMalformedRecord and the cause, if any.
func (e *RecordError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrMalformedRecord, e.Err}
	}
	return []error{ErrMalformedRecord}
}

// BodyCRC is the BODYCRC a broker stores: CRC-32 (IEEE) of the body, masked to 31 bits as Java's
// UtilAll.crc32 does.
func BodyCRC(body []byte) int32 {
	return int32(crc32.ChecksumIEEE(body) & 0x7FFFFFFF)
}

// DecodeMessageExt decodes the stored record at the start of b (layout of RocketMQ's
// MessageDecoder.decode) and returns it with the number of bytes it occupies (its TOTALSIZE).
// It is DecodeMessageExtLimit with DefaultMaxDecompressedSize.
func DecodeMessageExt(b []byte, decompressBody bool) (*message.MessageExt, int, error) {
	return decodeStored(b, 0, 0, decompressBody, DefaultMaxDecompressedSize)
}

// DecodeMessageExtLimit decodes one stored record like Java's client decoder:
//
//   - V1 (1-byte topic length, read unsigned) and V2 (2-byte) magic codes;
//   - born and store hosts as IPv4 or IPv6 according to sysFlag bits 0x10 and 0x20;
//   - MsgID is the UNIQ_KEY property when present, else the offset id; OffsetMsgID is always
//     computed from StoreHost and CommitLogOffset;
//   - with decompressBody, a body flagged compressed is inflated with the algorithm of its type
//     bits, at most maxBodySize bytes (<= 0 means DefaultMaxDecompressedSize), and
//     SysFlagCompressed is cleared, leaving the type bits, as Java does.
//
// Every length is checked against TOTALSIZE and the input; errors are *RecordError values that
// name the field. The body CRC is not verified (Java's client does not either; use BodyCRC).
// Bytes after the properties but within TOTALSIZE are skipped, for forward compatibility.
//
// An uncompressed Body aliases b: copy it before reusing the buffer.
func DecodeMessageExtLimit(b []byte, decompressBody bool, maxBodySize int) (*message.MessageExt, int, error) {
	return decodeStored(b, 0, 0, decompressBody, maxBodySize)
}

// DecodeMessageExts decodes back-to-back stored records, the body of PULL_MESSAGE, QUERY_MESSAGE
// and VIEW_MESSAGE_BY_ID responses. On error it returns the records decoded before the bad one
// together with the error (Java stops silently at the first bad record; here the caller decides).
func DecodeMessageExts(b []byte, decompressBody bool) ([]*message.MessageExt, error) {
	return DecodeMessageExtsLimit(b, decompressBody, DefaultMaxDecompressedSize)
}

// DecodeMessageExtsLimit is DecodeMessageExts with a cap on each decompressed body.
func DecodeMessageExtsLimit(b []byte, decompressBody bool, maxBodySize int) ([]*message.MessageExt, error) {
	// Count the records first so the result is allocated once; a bad size ends the count and is
	// reported by the decode loop.
	count := 0
	for off := 0; len(b)-off >= 4; count++ {
		n := int32(binary.BigEndian.Uint32(b[off:]))
		if n < storedMinSize || int64(n) > int64(len(b)-off) {
			count++
			break
		}
		off += int(n)
	}
	out := make([]*message.MessageExt, 0, count)
	for off, idx := 0, 0; off < len(b); idx++ {
		m, n, err := decodeStored(b[off:], off, idx, decompressBody, maxBodySize)
		if err != nil {
			return out, err
		}
		out = append(out, m)
		off += n
	}
	return out, nil
}

// storedFail builds the error of decodeStored.
func storedFail(base, idx, at int, field, format string, args ...any) error {
	return &RecordError{Kind: "stored message", Index: idx, Offset: base + at, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// storedHostLen returns the width of a host field (address and port) for the given v6 bit.
func storedHostLen(sysFlag, v6Bit int32) int {
	if sysFlag&v6Bit != 0 {
		return 16 + 4
	}
	return 4 + 4
}

func decodeStored(b []byte, base, idx int, decompress bool, maxBody int) (*message.MessageExt, int, error) {
	if len(b) < 8 {
		return nil, 0, storedFail(base, idx, 0, "TOTALSIZE", "need 8 bytes for TOTALSIZE and MAGICCODE, %d left", len(b))
	}
	magic := binary.BigEndian.Uint32(b[4:])
	if magic != MagicCodeV1 && magic != MagicCodeV2 {
		if magic == MagicCodeBlank {
			return nil, 0, storedFail(base, idx, 4, "MAGICCODE", "0x%08X is the commit-log end-of-file marker, not a message", magic)
		}
		return nil, 0, storedFail(base, idx, 4, "MAGICCODE", "0x%08X is not a message (want 0x%08X or 0x%08X)", magic, MagicCodeV1, MagicCodeV2)
	}
	total := int32(binary.BigEndian.Uint32(b))
	if total < storedMinSize {
		return nil, 0, storedFail(base, idx, 0, "TOTALSIZE", "%d is smaller than the %d-byte minimum record", total, storedMinSize)
	}
	if int64(total) > int64(len(b)) {
		return nil, 0, storedFail(base, idx, 0, "TOTALSIZE", "%d exceeds the %d bytes left", total, len(b))
	}
	r := b[:total]
	be := binary.BigEndian
	m := &message.MessageExt{
		StoreSize:       total,
		BodyCRC:         int32(be.Uint32(r[8:])),
		QueueID:         int32(be.Uint32(r[12:])),
		QueueOffset:     int64(be.Uint64(r[20:])),
		CommitLogOffset: int64(be.Uint64(r[28:])),
		SysFlag:         int32(be.Uint32(r[36:])),
		BornTimestamp:   int64(be.Uint64(r[40:])),
	}
	m.Flag = int32(be.Uint32(r[16:]))

	// The minimum size covers everything up to here; from the hosts on, widths depend on sysFlag.
	off := 48
	bornLen := storedHostLen(m.SysFlag, SysFlagBornHostV6)
	storeLen := storedHostLen(m.SysFlag, SysFlagStoreHostV6)
	topicLenSize := 1
	if magic == MagicCodeV2 {
		topicLenSize = 2
	}
	// Hosts, STORETIMESTAMP, RECONSUMETIMES, PREPAREDTRANSACTIONOFFSET, BODYLEN, TOPICLEN, PROPLEN.
	if need := off + bornLen + 8 + storeLen + 4 + 8 + 4 + topicLenSize + 2; need > len(r) {
		return nil, 0, storedFail(base, idx, 0, "TOTALSIZE", "%d is too small for the fixed fields of a record with sysFlag 0x%X and this magic (%d bytes)", total, m.SysFlag, need)
	}
	var err error
	if m.BornHost, err = storedHost(r[off:], bornLen); err != nil {
		return nil, 0, storedFail(base, idx, off+bornLen-4, "BORNHOST", "%v", err)
	}
	off += bornLen
	m.StoreTimestamp = int64(be.Uint64(r[off:]))
	off += 8
	if m.StoreHost, err = storedHost(r[off:], storeLen); err != nil {
		return nil, 0, storedFail(base, idx, off+storeLen-4, "STOREHOST", "%v", err)
	}
	off += storeLen
	m.ReconsumeTimes = int32(be.Uint32(r[off:]))
	m.PreparedTransactionOffset = int64(be.Uint64(r[off+4:]))
	off += 12

	bodyLen := int32(be.Uint32(r[off:]))
	if bodyLen < 0 {
		return nil, 0, storedFail(base, idx, off, "BODYLEN", "%d is negative", bodyLen)
	}
	if int64(bodyLen) > int64(len(r)-off-4-topicLenSize-2) {
		return nil, 0, storedFail(base, idx, off, "BODYLEN", "%d does not fit in the %d bytes left of TOTALSIZE %d", bodyLen, len(r)-off-4, total)
	}
	bodyAt := off + 4
	off = bodyAt + int(bodyLen)
	if bodyLen > 0 {
		m.Body = r[bodyAt:off:off]
		if decompress && m.SysFlag&SysFlagCompressed != 0 {
			body, err := Decompress(m.Body, CompressionOf(m.SysFlag), maxBody)
			if err != nil {
				e := storedFail(base, idx, bodyAt, "BODY", "cannot decompress %s body of %d bytes", CompressionOf(m.SysFlag), bodyLen).(*RecordError)
				e.Err = err
				return nil, 0, e
			}
			m.Body = body
			m.SysFlag &^= SysFlagCompressed
		}
	}

	var topicLen int
	if topicLenSize == 1 {
		topicLen = int(r[off])
	} else {
		n := int16(be.Uint16(r[off:]))
		if n < 0 {
			return nil, 0, storedFail(base, idx, off, "TOPICLEN", "%d is negative", n)
		}
		topicLen = int(n)
	}
	if topicLen > len(r)-off-topicLenSize-2 {
		return nil, 0, storedFail(base, idx, off, "TOPICLEN", "%d does not fit in the %d bytes left of TOTALSIZE %d", topicLen, len(r)-off-topicLenSize, total)
	}
	off += topicLenSize
	m.Topic = string(r[off : off+topicLen])
	off += topicLen

	propLen := int16(be.Uint16(r[off:]))
	if propLen < 0 {
		return nil, 0, storedFail(base, idx, off, "PROPLEN", "%d is negative", propLen)
	}
	if int(propLen) > len(r)-off-2 {
		return nil, 0, storedFail(base, idx, off, "PROPLEN", "%d does not fit in the %d bytes left of TOTALSIZE %d", propLen, len(r)-off-2, total)
	}
	off += 2
	m.Properties = DecodePropertiesBytes(r[off : off+int(propLen)])

	m.OffsetMsgID = EncodeOffsetMsgID(m.StoreHost, m.CommitLogOffset)
	m.MsgID = m.Properties[message.PropertyUniqClientMessageIDKeyIdx]
	if m.MsgID == "" {
		m.MsgID = m.OffsetMsgID
	}
	return m, int(total), nil
}

// storedHost decodes an address of len-4 bytes followed by a 4-byte port.
func storedHost(b []byte, n int) (netip.AddrPort, error) {
	var addr netip.Addr
	if n == 20 {
		addr = netip.AddrFrom16([16]byte(b[:16]))
	} else {
		addr = netip.AddrFrom4([4]byte(b[:4]))
	}
	port := int32(binary.BigEndian.Uint32(b[n-4:]))
	if port < 0 || port > 0xFFFF {
		return netip.AddrPort{}, fmt.Errorf("port %d out of range 0..65535", port)
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// AppendMessageExt appends m to dst as a stored record, the inverse of DecodeMessageExt, for golden
// tests and the fault-injection fake broker. v2Magic selects the 2-byte topic length; a topic of
// more than 127 bytes gets it regardless, as the broker does.
//
// TOTALSIZE and BODYCRC are computed (m.StoreSize, m.BodyCRC, m.MsgID and m.OffsetMsgID are
// ignored). A host is written as IPv6 when its sysFlag bit is set or its address is a true IPv6
// address, and the bit is set to match; an invalid address is written as zeros. The body is
// written as is: compress it and set the sysFlag bits beforehand for a compressed record.
// The topic and properties must fit their 16-bit lengths (ValidateMessage); longer ones are written
// with truncated lengths, as Java's casts do. A nil m appends nothing.
func AppendMessageExt(dst []byte, m *message.MessageExt, v2Magic bool) []byte {
	if m == nil {
		return dst
	}
	be := binary.BigEndian
	sysFlag := m.SysFlag
	if storedNeedsV6(m.BornHost.Addr()) {
		sysFlag |= SysFlagBornHostV6
	}
	if storedNeedsV6(m.StoreHost.Addr()) {
		sysFlag |= SysFlagStoreHostV6
	}
	v2 := v2Magic || len(m.Topic) > 127
	magic := MagicCodeV1
	if v2 {
		magic = MagicCodeV2
	}
	start := len(dst)
	dst = be.AppendUint32(dst, 0) // TOTALSIZE, patched below
	dst = be.AppendUint32(dst, magic)
	dst = be.AppendUint32(dst, uint32(BodyCRC(m.Body)))
	dst = be.AppendUint32(dst, uint32(m.QueueID))
	dst = be.AppendUint32(dst, uint32(m.Flag))
	dst = be.AppendUint64(dst, uint64(m.QueueOffset))
	dst = be.AppendUint64(dst, uint64(m.CommitLogOffset))
	dst = be.AppendUint32(dst, uint32(sysFlag))
	dst = be.AppendUint64(dst, uint64(m.BornTimestamp))
	dst = appendStoredHost(dst, m.BornHost, sysFlag&SysFlagBornHostV6 != 0)
	dst = be.AppendUint64(dst, uint64(m.StoreTimestamp))
	dst = appendStoredHost(dst, m.StoreHost, sysFlag&SysFlagStoreHostV6 != 0)
	dst = be.AppendUint32(dst, uint32(m.ReconsumeTimes))
	dst = be.AppendUint64(dst, uint64(m.PreparedTransactionOffset))
	dst = be.AppendUint32(dst, uint32(len(m.Body)))
	dst = append(dst, m.Body...)
	if v2 {
		dst = be.AppendUint16(dst, uint16(len(m.Topic)))
	} else {
		dst = append(dst, byte(len(m.Topic)))
	}
	dst = append(dst, m.Topic...)
	propAt := len(dst)
	dst = append(dst, 0, 0) // PROPLEN, patched below
	dst = AppendProperties(dst, m.Properties)
	be.PutUint16(dst[propAt:], uint16(len(dst)-propAt-2))
	be.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst
}

// storedNeedsV6 reports whether a cannot be written in 4 bytes.
func storedNeedsV6(a netip.Addr) bool { return a.Is6() && !a.Is4In6() }

func appendStoredHost(dst []byte, h netip.AddrPort, v6 bool) []byte {
	a := h.Addr()
	if v6 {
		var ip [16]byte
		if a.IsValid() {
			ip = a.As16()
		}
		dst = append(dst, ip[:]...)
	} else {
		var ip [4]byte
		if a.IsValid() {
			ip = a.Unmap().As4()
		}
		dst = append(dst, ip[:]...)
	}
	return binary.BigEndian.AppendUint32(dst, uint32(h.Port()))
}
