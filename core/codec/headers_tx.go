package codec

// EndTransactionRequestHeader commits or rolls back a half message (END_TRANSACTION, sent oneway).
type EndTransactionRequestHeader struct {
	Topic                string
	ProducerGroup        string
	TranStateTableOffset int64
	CommitLogOffset      int64
	// CommitOrRollback is TransactionCommit, TransactionRollback or TransactionNotType (unknown).
	CommitOrRollback     int32
	FromTransactionCheck bool
	MsgID                string
	TransactionID        string
	BrokerName           string
}

// EncodeExt implements HeaderEncoder.
func (h *EndTransactionRequestHeader) EncodeExt(w *ExtWriter) {
	w.String("topic", h.Topic)
	w.String("producerGroup", h.ProducerGroup)
	w.Int("tranStateTableOffset", h.TranStateTableOffset)
	w.Int("commitLogOffset", h.CommitLogOffset)
	w.Int("commitOrRollback", int64(h.CommitOrRollback))
	w.Bool("fromTransactionCheck", h.FromTransactionCheck)
	w.String("msgId", h.MsgID)
	w.String("transactionId", h.TransactionID)
	w.String("bname", h.BrokerName)
}

// CheckTransactionStateRequestHeader is what a broker sends when it asks a producer to resolve a
// half message (CHECK_TRANSACTION_STATE, oneway). Its offsets are those of the re-appended copy and
// must be echoed in the answering END_TRANSACTION.
type CheckTransactionStateRequestHeader struct {
	Topic                string
	TranStateTableOffset int64
	CommitLogOffset      int64
	OffsetMsgID          string
	MsgID                string
	TransactionID        string
	BrokerName           string
}

// EncodeExt implements HeaderEncoder (for the fault-injection broker).
func (h *CheckTransactionStateRequestHeader) EncodeExt(w *ExtWriter) {
	w.String("topic", h.Topic)
	w.Int("tranStateTableOffset", h.TranStateTableOffset)
	w.Int("commitLogOffset", h.CommitLogOffset)
	w.String("offsetMsgId", h.OffsetMsgID)
	w.String("msgId", h.MsgID)
	w.String("transactionId", h.TransactionID)
	w.String("bname", h.BrokerName)
}

// DecodeCheckTransactionStateRequestHeader reads a check-back request.
func DecodeCheckTransactionStateRequestHeader(c *Command) (*CheckTransactionStateRequestHeader, error) {
	r := extReader{c: c}
	h := &CheckTransactionStateRequestHeader{
		Topic:                r.str("topic", false),
		TranStateTableOffset: r.i64("tranStateTableOffset", true),
		CommitLogOffset:      r.i64("commitLogOffset", true),
		OffsetMsgID:          r.str("offsetMsgId", false),
		MsgID:                r.str("msgId", false),
		TransactionID:        r.str("transactionId", false),
		BrokerName:           r.str("bname", false),
	}
	return h, r.err
}

// ReplyMessageRequestHeader is the header of PUSH_REPLY_MESSAGE_TO_CLIENT, with which a broker
// delivers a reply to the requester; the body is the reply body.
type ReplyMessageRequestHeader struct {
	ProducerGroup         string
	Topic                 string
	DefaultTopic          string
	DefaultTopicQueueNums int32
	QueueID               int32
	SysFlag               int32
	BornTimestamp         int64
	Flag                  int32
	Properties            string
	ReconsumeTimes        int32
	UnitMode              bool
	BornHost              string
	StoreHost             string
	StoreTimestamp        int64
}

// EncodeExt implements HeaderEncoder (for the fault-injection broker).
func (h *ReplyMessageRequestHeader) EncodeExt(w *ExtWriter) {
	w.String("producerGroup", h.ProducerGroup)
	w.String("topic", h.Topic)
	w.String("defaultTopic", h.DefaultTopic)
	w.Int("defaultTopicQueueNums", int64(h.DefaultTopicQueueNums))
	w.Int("queueId", int64(h.QueueID))
	w.Int("sysFlag", int64(h.SysFlag))
	w.Int("bornTimestamp", h.BornTimestamp)
	w.Int("flag", int64(h.Flag))
	w.String("properties", h.Properties)
	w.Int("reconsumeTimes", int64(h.ReconsumeTimes))
	w.Bool("unitMode", h.UnitMode)
	w.String("bornHost", h.BornHost)
	w.String("storeHost", h.StoreHost)
	w.Int("storeTimestamp", h.StoreTimestamp)
}

// DecodeReplyMessageRequestHeader reads a reply push.
func DecodeReplyMessageRequestHeader(c *Command) (*ReplyMessageRequestHeader, error) {
	r := extReader{c: c}
	h := &ReplyMessageRequestHeader{
		ProducerGroup:         r.str("producerGroup", false),
		Topic:                 r.str("topic", true),
		DefaultTopic:          r.str("defaultTopic", false),
		DefaultTopicQueueNums: r.i32("defaultTopicQueueNums", false),
		QueueID:               r.i32("queueId", false),
		SysFlag:               r.i32("sysFlag", false),
		BornTimestamp:         r.i64("bornTimestamp", false),
		Flag:                  r.i32("flag", false),
		Properties:            r.str("properties", false),
		ReconsumeTimes:        r.i32("reconsumeTimes", false),
		UnitMode:              r.bool("unitMode"),
		BornHost:              r.str("bornHost", false),
		StoreHost:             r.str("storeHost", false),
		StoreTimestamp:        r.i64("storeTimestamp", false),
	}
	return h, r.err
}
