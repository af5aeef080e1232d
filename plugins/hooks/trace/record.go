package trace

import (
	"strconv"
	"strings"

	"github.com/rocketsend/rocketsend/core/send"
)

// The separators of the Java client's trace format (org.apache.rocketmq.client.trace.
// TraceConstants): CONTENT_SPLITOR between the fields of one record, FIELD_SPLITOR after each
// record.
const (
	contentSep = '\x01'
	fieldSep   = '\x02'
)

// kind is the TraceType of a record, spelled as Java's enum constant names it on the wire.
type kind uint8

const (
	kindPub kind = iota
	kindEndTransaction
)

// record is one trace context with its single trace bean: what Java's SendMessageTraceHookImpl
// (Pub) and EndTransactionTraceHookImpl (EndTransaction) hand to the dispatcher. It is passed by
// value through the buffer, so appending a record allocates nothing; the strings point into the
// message and the result the producer already made.
type record struct {
	kind        kind
	timestampMs int64
	costMs      int64
	bodyLen     int
	msgType     send.MessageType
	success     bool
	fromCheck   bool
	txState     send.LocalTransactionState
	region      string
	group       string
	topic       string
	msgID       string
	offsetMsgID string
	tags        string
	keys        string
	storeHost   string
	txID        string
}

// appendTo encodes r exactly as Java's TraceDataEncoder.encoderFromContextBean does, record
// separator included, and returns the extended buffer.
//
// Pub (14 fields): Pub, timestamp, regionId, groupName, topic, msgId, tags, keys, storeHost,
// bodyLength, costTime, msgType ordinal, offsetMsgId, success.
//
// EndTransaction (13 fields): EndTransaction, timestamp, regionId, groupName, topic, msgId, tags,
// keys, storeHost, msgType ordinal, transactionId, transactionState name, fromTransactionCheck.
//
// Java appends a null String as "null": a message without tags or keys is traced with the text
// "null" in those fields, and so it is here, so that trace readers see the same thing from both
// clients.
func (r *record) appendTo(b []byte) []byte {
	switch r.kind {
	case kindPub:
		b = append(b, "Pub"...)
		b = appendInt(b, r.timestampMs)
		b = appendStr(b, r.region)
		b = appendStr(b, r.group)
		b = appendStr(b, r.topic)
		b = appendStr(b, r.msgID)
		b = appendStr(b, orNull(r.tags))
		b = appendStr(b, orNull(r.keys))
		b = appendStr(b, r.storeHost)
		b = appendInt(b, int64(r.bodyLen))
		b = appendInt(b, r.costMs)
		b = appendInt(b, int64(r.msgType))
		b = appendStr(b, r.offsetMsgID)
		b = append(b, contentSep)
		b = strconv.AppendBool(b, r.success)
	case kindEndTransaction:
		b = append(b, "EndTransaction"...)
		b = appendInt(b, r.timestampMs)
		b = appendStr(b, r.region)
		b = appendStr(b, r.group)
		b = appendStr(b, r.topic)
		b = appendStr(b, r.msgID)
		b = appendStr(b, orNull(r.tags))
		b = appendStr(b, orNull(r.keys))
		b = appendStr(b, r.storeHost)
		b = appendInt(b, int64(send.TransMsgCommit)) // Java always records Trans_msg_Commit here
		b = appendStr(b, orNull(r.txID))
		b = appendStr(b, r.txState.String())
		b = append(b, contentSep)
		b = strconv.AppendBool(b, r.fromCheck)
	}
	return append(b, fieldSep)
}

// transKeys returns what Java's encoder puts in TraceTransferBean.transKey for r: the message id
// and each of the message's keys. The trace message carries them as its KEYS, so the broker
// indexes trace records by the traced message's id and keys.
func (r *record) transKeys(add func(string)) {
	add(r.msgID)
	rest := r.keys
	for rest != "" {
		k, tail, _ := strings.Cut(rest, " ")
		if k != "" {
			add(k)
		}
		rest = tail
	}
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

func appendInt(b []byte, v int64) []byte {
	b = append(b, contentSep)
	return strconv.AppendInt(b, v, 10)
}

// appendStr appends a separator and s. A separator inside s would split the field on the reading
// side and shift every later one (Java does not guard against it); message properties cannot
// carry them, but a topic or broker address from elsewhere is not checked, so they become spaces.
func appendStr(b []byte, s string) []byte {
	b = append(b, contentSep)
	if strings.IndexByte(s, contentSep) < 0 && strings.IndexByte(s, fieldSep) < 0 {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == contentSep || c == fieldSep {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}
