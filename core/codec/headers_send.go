package codec

// SendMessageRequestHeader is the header of SEND_MESSAGE (10) and SEND_REPLY_MESSAGE (324), with
// Java's long field names. Encode SendMessageRequestHeaderV2(h) for codes 310, 320 and 325.
type SendMessageRequestHeader struct {
	ProducerGroup         string
	Topic                 string
	DefaultTopic          string
	DefaultTopicQueueNums int32
	// QueueID < 0 lets the broker pick a writable queue.
	QueueID       int32
	SysFlag       int32
	BornTimestamp int64
	Flag          int32
	Properties    string
	// PropertiesMap, when Properties is empty, is encoded in its place straight into the frame,
	// sorted by name (so every encoding of the header is the same bytes, which signing relies
	// on): the send path saves building the string. Decoding fills Properties only.
	PropertiesMap     map[string]string
	ReconsumeTimes    int32
	UnitMode          bool
	Batch             bool
	MaxReconsumeTimes int32 // sent only when > 0 (retry topics)
	BrokerName        string
}

// EncodeExt implements HeaderEncoder with the V1 names.
func (h *SendMessageRequestHeader) EncodeExt(w *ExtWriter) {
	w.String("producerGroup", h.ProducerGroup)
	w.String("topic", h.Topic)
	w.String("defaultTopic", h.DefaultTopic)
	w.Int("defaultTopicQueueNums", int64(h.DefaultTopicQueueNums))
	w.Int("queueId", int64(h.QueueID))
	w.Int("sysFlag", int64(h.SysFlag))
	w.Int("bornTimestamp", h.BornTimestamp)
	w.Int("flag", int64(h.Flag))
	w.properties("properties", h.Properties, h.PropertiesMap)
	w.Int("reconsumeTimes", int64(h.ReconsumeTimes))
	w.Bool("unitMode", h.UnitMode)
	w.Bool("batch", h.Batch)
	if h.MaxReconsumeTimes > 0 {
		w.Int("maxReconsumeTimes", int64(h.MaxReconsumeTimes))
	}
	w.String("bname", h.BrokerName)
}

// SendMessageRequestHeaderV2 is the same header with the one-letter names Java sends by default
// (SEND_MESSAGE_V2 310, SEND_BATCH_MESSAGE 320, SEND_REPLY_MESSAGE_V2 325). Converting a
// *SendMessageRequestHeader to it is free.
type SendMessageRequestHeaderV2 SendMessageRequestHeader

// EncodeExt implements HeaderEncoder with the V2 names a..n.
func (h *SendMessageRequestHeaderV2) EncodeExt(w *ExtWriter) {
	w.String("a", h.ProducerGroup)
	w.String("b", h.Topic)
	w.String("c", h.DefaultTopic)
	w.Int("d", int64(h.DefaultTopicQueueNums))
	w.Int("e", int64(h.QueueID))
	w.Int("f", int64(h.SysFlag))
	w.Int("g", h.BornTimestamp)
	w.Int("h", int64(h.Flag))
	w.properties("i", h.Properties, h.PropertiesMap)
	w.Int("j", int64(h.ReconsumeTimes))
	w.Bool("k", h.UnitMode)
	if h.MaxReconsumeTimes > 0 {
		w.Int("l", int64(h.MaxReconsumeTimes))
	}
	w.Bool("m", h.Batch)
	w.String("n", h.BrokerName)
}

// IsShortSendCode reports whether a send code uses the V2 (short-named) header.
func IsShortSendCode(code int32) bool {
	return code == SendMessageV2 || code == SendBatchMessage || code == SendReplyMessageV2
}

// DecodeSendMessageRequestHeader reads a send request header of either naming, chosen by the
// request code, as a broker would. The fault-injection broker and the fuzzers use it.
func DecodeSendMessageRequestHeader(c *Command) (*SendMessageRequestHeader, error) {
	names := [...]string{"producerGroup", "topic", "defaultTopic", "defaultTopicQueueNums", "queueId",
		"sysFlag", "bornTimestamp", "flag", "properties", "reconsumeTimes", "unitMode",
		"maxReconsumeTimes", "batch", "bname"}
	if IsShortSendCode(c.Code) {
		names = [...]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n"}
	}
	r := extReader{c: c}
	h := &SendMessageRequestHeader{
		ProducerGroup:         r.str(names[0], true),
		Topic:                 r.str(names[1], true),
		DefaultTopic:          r.str(names[2], true),
		DefaultTopicQueueNums: r.i32(names[3], true),
		QueueID:               r.i32(names[4], true),
		SysFlag:               r.i32(names[5], true),
		BornTimestamp:         r.i64(names[6], true),
		Flag:                  r.i32(names[7], true),
		Properties:            r.str(names[8], false),
		ReconsumeTimes:        r.i32(names[9], false),
		UnitMode:              r.bool(names[10]),
		MaxReconsumeTimes:     r.i32(names[11], false),
		Batch:                 r.bool(names[12]),
		BrokerName:            r.str(names[13], false),
	}
	return h, r.err
}

// SendMessageResponseHeader is the header of a successful send response.
type SendMessageResponseHeader struct {
	// MsgID is the broker's offset message id; comma-joined for a batch.
	MsgID         string
	QueueID       int32
	QueueOffset   int64
	TransactionID string
	BatchUniqID   string
	RecallHandle  string
	// RegionID and TraceOn are the MSG_REGION and TRACE_ON fields every broker adds.
	RegionID string
	TraceOn  bool
}

// EncodeExt implements HeaderEncoder (for the fault-injection broker).
func (h *SendMessageResponseHeader) EncodeExt(w *ExtWriter) {
	w.String("msgId", h.MsgID)
	w.Int("queueId", int64(h.QueueID))
	w.Int("queueOffset", h.QueueOffset)
	w.String("transactionId", h.TransactionID)
	w.String("batchUniqId", h.BatchUniqID)
	w.String("recallHandle", h.RecallHandle)
	w.String("MSG_REGION", h.RegionID)
	w.Bool("TRACE_ON", h.TraceOn)
}

// DecodeSendMessageResponseHeader reads a send response header. RegionID defaults to
// "DefaultRegion" and TraceOn to true, as Java's client does when the broker omits them.
func DecodeSendMessageResponseHeader(c *Command) (*SendMessageResponseHeader, error) {
	h := new(SendMessageResponseHeader)
	err := h.decode(c)
	return h, err // small enough to inline: a caller that keeps h to itself keeps it on the stack
}

func (h *SendMessageResponseHeader) decode(c *Command) error {
	r := extReader{c: c}
	*h = SendMessageResponseHeader{
		MsgID:         r.str("msgId", true),
		QueueID:       r.i32("queueId", true),
		QueueOffset:   r.i64("queueOffset", true),
		TransactionID: r.str("transactionId", false),
		BatchUniqID:   r.str("batchUniqId", false),
		RecallHandle:  r.str("recallHandle", false),
		RegionID:      r.str("MSG_REGION", false),
		TraceOn:       true,
	}
	if h.RegionID == "" {
		h.RegionID = "DefaultRegion"
	}
	if v, ok := c.ExtValue("TRACE_ON"); ok && v == "false" {
		h.TraceOn = false
	}
	return r.err
}
